"""Platform pushes: ``/webhooks/youzan``, ``/webhooks/douyin``, ``/webhooks/wecom``, and the member SPIs
``/webhooks/tmall/member`` and ``/webhooks/douyin/member``.

Each checks the platform's signature over the raw body before anything else and answers the way the
platform reads an answer: Youzan and Douyin retry until the body says ``success``; WeCom wants the
decrypted ``echostr`` for URL verification and ``success`` for a message. A bad signature gets 401
(WeCom: 403) and a body without ``success``, so nothing is written and a genuine platform would retry.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from siyu.api.deps import raw_body, run_resolving, runtime
from siyu.core.errors import SiyuError
from siyu.ingest.douyin_member import receive_member_join, verify_douyin_spi
from siyu.ingest.push import (
    BadSignature,
    NotConfigured,
    receive_douyin,
    receive_youzan,
    verify_douyin,
    verify_youzan,
)
from siyu.ingest.tmall_member import receive_member_call, verify_spi
from siyu.ingest.wecom_callback import (
    WecomCallbackConfig,
    WecomCrypto,
    open_message,
    receive_contact_change,
    verify_url,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _failed(exc: SiyuError) -> JSONResponse:
    return JSONResponse({"code": exc.status, "msg": f"failed: {exc.message}"}, status_code=exc.status)


@router.post("/youzan", summary="Youzan message push")
async def youzan(request: Request) -> JSONResponse:
    rt = runtime(request)
    raw = await raw_body(request)
    try:
        body = verify_youzan(raw, request.headers.get("event-sign"), rt.settings.youzan_client_id,
                             rt.settings.youzan_client_secret)
    except SiyuError as exc:
        return _failed(exc)

    def work(s: Session) -> dict[str, str]:
        return receive_youzan(s, rt.vault, body, request.headers.get("event-type")).outcomes

    outcomes = await run_in_threadpool(run_resolving, rt, work)
    return JSONResponse({"code": 0, "msg": "success", "outcomes": outcomes})


@router.post("/douyin", summary="Douyin shop (抖店) message push")
async def douyin(request: Request) -> JSONResponse:
    rt = runtime(request)
    raw = await raw_body(request)
    try:
        messages = verify_douyin(raw, request.headers.get("event-sign"), request.headers.get("sign-method"),
                                 rt.settings.douyin_app_key, rt.settings.douyin_app_secret)
    except SiyuError as exc:
        return _failed(exc)

    def work(s: Session) -> dict[str, str]:
        return receive_douyin(s, rt.vault, messages).outcomes

    outcomes = await run_in_threadpool(run_resolving, rt, work)
    return JSONResponse({"code": 0, "msg": "success", "outcomes": outcomes})


@router.post("/tmall/member", summary="Tmall brand member centre (会员通) SPI: register, bind, bind query")
async def tmall_member(request: Request) -> JSONResponse:
    rt = runtime(request)
    raw = await raw_body(request)
    params = dict(request.query_params)
    try:
        body = verify_spi(params, raw, rt.settings.tmall_app_key, rt.settings.tmall_app_secret)
    except BadSignature as exc:
        # the refusal TOP's SPI and Qimen callers read
        return JSONResponse({"success": False, "failCode": "sign-check-failure", "failMessage": exc.message},
                            status_code=exc.status)
    except SiyuError as exc:
        return _failed(exc)

    def work(s: Session) -> dict[str, Any]:
        return receive_member_call(s, rt.vault, params, body)

    answer = await run_in_threadpool(run_resolving, rt, work)
    outcome = "duplicate" if answer.pop("duplicate", False) else ("applied" if "SUC" in answer.values() else "refused")
    return JSONResponse(answer, headers={"X-Siyu-Outcome": outcome})


@router.post("/douyin/member", summary="Douyin member join SPI (会员入会): a user joined the brand's membership")
async def douyin_member(request: Request) -> JSONResponse:
    rt = runtime(request)
    raw = await raw_body(request)
    params = dict(request.query_params)
    try:
        body = verify_douyin_spi(params, raw, request.headers.get("x-life-sign"), rt.settings.douyin_client_key,
                                 rt.settings.douyin_client_secret)
    except SiyuError as exc:
        # an answer Douyin reads as "failed" (error_code 200: retrying the same call cannot succeed)
        return JSONResponse({"data": {"error_code": 200, "description": exc.message}}, status_code=exc.status)

    def work(s: Session) -> dict[str, Any]:
        return receive_member_join(s, rt.vault, params, body)

    answer = await run_in_threadpool(run_resolving, rt, work)
    outcome = "duplicate" if answer.pop("duplicate", False) else (
        "applied" if answer["data"]["error_code"] == 0 else "refused")
    return JSONResponse(answer, headers={"X-Siyu-Outcome": outcome})


def _wecom(request: Request) -> WecomCrypto:
    st = runtime(request).settings
    if not st.wecom_token or not st.wecom_corp_id:
        raise NotConfigured("WeCom callbacks need SIYU_WECOM_TOKEN and SIYU_WECOM_CORP_ID "
                            "(and SIYU_WECOM_AES_KEY for encrypted mode)")
    return WecomCrypto(WecomCallbackConfig(st.wecom_token, st.wecom_corp_id, st.wecom_aes_key))


@router.get("/wecom", summary="WeCom callback URL verification", response_class=PlainTextResponse)
async def wecom_verify(request: Request) -> PlainTextResponse:
    try:
        return PlainTextResponse(verify_url(_wecom(request), dict(request.query_params)))
    except BadSignature as exc:
        return PlainTextResponse(exc.message, status_code=403)


@router.post("/wecom", summary="WeCom change_external_contact callback", response_class=PlainTextResponse)
async def wecom_message(request: Request) -> PlainTextResponse:
    rt = runtime(request)
    raw = await raw_body(request)
    try:
        msg = open_message(_wecom(request), dict(request.query_params), raw)
    except BadSignature as exc:
        return PlainTextResponse(exc.message, status_code=403)

    outcome = await run_in_threadpool(run_resolving, rt, lambda s: receive_contact_change(s, rt.vault, msg))
    # WeCom reads only the body; the header tells a replay or a log what became of the message.
    return PlainTextResponse("success", headers={"X-Siyu-Outcome": outcome})
