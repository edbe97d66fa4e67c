"""A client of the Douyin shop open platform (抖店开放平台) for the calls Siyu makes.

Protocol (op.jinritemai.com, 开发文档 · 接口调用): ``POST {gateway}/{method with dots as slashes}``; the
query carries ``app_key``, ``method``, ``v=2``, ``timestamp`` (Unix seconds), ``sign_method=hmac-sha256``,
``sign`` and, except for the token calls, ``access_token``; the body is ``param_json``, the business
parameters as compact JSON with sorted keys (``core.platform_sign.douyin_api_sign``). Every answer is
``{"code", "msg", "sub_code", "sub_msg", "data", "log_id"}``, 10000 meaning success.

A self-built app (自用型应用) gets its token with ``token.create`` (``grant_type=authorization_self`` and
the shop id) and renews it with ``token.refresh``. What the client does about errors:
- ``isv.access-token-expired`` / ``isv.access-token-no-existed``: a new token (refresh, else create), the
  call once more;
- a flow limit (sub_code naming one; the simulated shop answers 90000 ``dop.api-flow-limit``) and 20000
  (服务不可用, "retry later"): waits, doubling from ``backoff`` seconds, up to ``retries`` times;
- anything else: ``DouyinApiError`` with the method, the code and the platform's message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from siyu.core.errors import SiyuError
from siyu.core.platform_sign import douyin_api_sign

TOKEN_ERRORS = {"isv.access-token-expired", "isv.access-token-no-existed"}
RETRY_LATER = {20000, 90000}
PHONE = 3  # sensitive_type of a phone (1 address, 2 name)


class DouyinApiError(SiyuError):
    status = 502

    def __init__(self, method: str, code: Any, sub_code: str, message: str) -> None:
        self.code, self.sub_code = code, sub_code
        super().__init__(f"Douyin {method}: {code} {sub_code} {message}".strip())


class DouyinShopApi:
    def __init__(self, base_url: str, app_key: str, app_secret: str, shop_id: str, *,
                 http: httpx.Client | None = None, retries: int = 5, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.base_url = base_url.rstrip("/")
        self.app_key, self.app_secret, self.shop_id = app_key, app_secret, shop_id
        self.http = http or httpx.Client(timeout=12)
        self.retries, self.backoff, self.sleep = retries, backoff, sleep
        self._token: str | None = None
        self._refresh: str | None = None

    def search_index(self, phone: str) -> str | None:
        """The platform's search index of a plain phone (``order.getSearchIndex``); None when the
        platform refuses the phone as a parameter (not a number it indexes)."""
        try:
            data = self.call("order.getSearchIndex", {"plain_text": phone, "sensitive_type": PHONE})
        except DouyinApiError as exc:
            if exc.sub_code == "isv.parameter-invalid":
                return None
            raise
        index = data.get("encrypt_index_text")
        if not isinstance(index, str) or not index:
            raise DouyinApiError("order.getSearchIndex", 10000, "", "answer without encrypt_index_text")
        return index

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        renewed = False
        wait = self.backoff
        for attempt in range(self.retries + 1):
            answer = self._post(method, params, self._access_token())
            code, sub = answer.get("code"), str(answer.get("sub_code") or "")
            if code == 10000:
                data = answer.get("data")
                return data if isinstance(data, dict) else {}
            if sub in TOKEN_ERRORS and not renewed:
                self._renew()
                renewed = True
                continue
            if (code in RETRY_LATER or "flow-limit" in sub) and attempt < self.retries:
                self.sleep(wait)
                wait *= 2
                continue
            raise DouyinApiError(method, code, sub, str(answer.get("sub_msg") or answer.get("msg") or ""))
        raise DouyinApiError(method, "", "", f"no answer after {self.retries} retries")  # pragma: no cover

    def _access_token(self) -> str:
        if self._token is None:
            self._grant(self._post("token.create", {"code": "", "grant_type": "authorization_self",
                                                    "shop_id": self.shop_id}, None), "token.create")
        assert self._token is not None
        return self._token

    def _renew(self) -> None:
        refresh, self._token = self._refresh, None
        if refresh:
            answer = self._post("token.refresh", {"grant_type": "refresh_token", "refresh_token": refresh}, None)
            if answer.get("code") == 10000:
                self._grant(answer, "token.refresh")
                return
        self._access_token()  # the refresh token was refused or is gone: a new grant

    def _grant(self, answer: dict[str, Any], method: str) -> None:
        data = answer.get("data") or {}
        if answer.get("code") != 10000 or not data.get("access_token"):
            raise DouyinApiError(method, answer.get("code"), str(answer.get("sub_code") or ""),
                                 str(answer.get("sub_msg") or answer.get("msg") or ""))
        self._token, self._refresh = str(data["access_token"]), str(data.get("refresh_token") or "") or None

    def _post(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        param_json = json.dumps(params, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        timestamp = str(int(time.time()))
        query = {"app_key": self.app_key, "method": method, "v": "2", "timestamp": timestamp,
                 "sign_method": "hmac-sha256",
                 "sign": douyin_api_sign(self.app_key, self.app_secret, method, param_json, timestamp)}
        if token:
            query["access_token"] = token
        try:
            r = self.http.post(f"{self.base_url}/{method.replace('.', '/')}", params=query,
                               content=param_json.encode(), headers={"Content-Type": "application/json"})
            answer = r.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise DouyinApiError(method, "", "", f"no readable answer ({exc})") from None
        if not isinstance(answer, dict):
            raise DouyinApiError(method, "", "", "answer is not a JSON object")
        return answer
