"""The demo brand's Douyin shop as the Douyin shop open platform (抖店开放平台) answers for it.

Douyin encrypts a receiver's phone in every order (``encrypt_post_tel``); the ciphertext begins with a
*search index* (``#<index>#<cipher>…``) that is the same for every order to the same phone. A shop gets
the index of a phone it already knows from ``order.getSearchIndex`` (no decryption quota is spent), and
so can tell which of its orders went to that phone without ever decrypting one. Only the platform can
compute an index: it is keyed with the platform's secret, kept here and never given to the brand.

The generator writes the orders' indexes with ``search_index``; ``DouyinShop`` is a WSGI app that speaks
the documented protocol for the calls Siyu makes, with its errors: ``token.create`` (a self-built app's
``authorization_self``), ``token.refresh``, ``order.getSearchIndex``; bad signatures, expired and unknown
tokens, and a per-second flow limit. The demo calls it in process; the tests serve it on a loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from siyu.core.platform_sign import douyin_api_sign

INDEX_KEY = b"douyin-platform-index-key:lantu-shop-4263918"  # the platform's, not the brand's
PHONE = re.compile(r"1[3-9][0-9]{9}")
OK = 10000
# (code, sub_code) of the documented public error list (抖店 平台基础错误码)
BAD_SIGN = (40003, "isv.signature-invalid")
TOKEN_EXPIRED = (40003, "isv.access-token-expired")
TOKEN_UNKNOWN = (40003, "isv.access-token-no-existed")
BAD_PARAM = (40003, "isv.parameter-invalid")
NO_APP = (40001, "isv.app-id-missing")
# the flow-limit answer; the client also retries any sub_code that names a flow limit
FLOW_LIMIT = (90000, "dop.api-flow-limit")


def search_index(phone: str) -> str:
    """The platform's search index of a plain phone (44 characters of base64)."""
    return base64.b64encode(hmac.new(INDEX_KEY, phone.encode(), hashlib.sha256).digest()).decode()


class DouyinShop:
    """One app's view of one shop. ``token_ttl`` seconds of life per access token; at most ``qps`` calls
    in any one second (0: no limit)."""

    def __init__(self, app_key: str, app_secret: str, shop_id: str, *, token_ttl: float = 7 * 86400,
                 qps: int = 0, clock: Callable[[], float] = time.time) -> None:
        self.app_key, self.app_secret, self.shop_id = app_key, app_secret, shop_id
        self.token_ttl, self.qps, self.clock = token_ttl, qps, clock
        self.tokens: dict[str, float] = {}  # access token → expiry
        self.refresh_tokens: set[str] = set()
        self.calls: dict[str, int] = {}  # method → calls answered (the tests read it)
        self._window: tuple[int, int] = (0, 0)
        self._lock = threading.Lock()

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
        size = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(size).decode() if size else ""
        answer = self.answer(query, body)
        data = json.dumps(answer, ensure_ascii=False).encode()
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                  ("Content-Length", str(len(data)))])
        return [data]

    def answer(self, query: dict[str, str], param_json: str) -> dict[str, Any]:
        method = query.get("method", "")
        with self._lock:
            if query.get("app_key") != self.app_key:
                return _error(NO_APP, "认证失败,app_key不存在")
            expected = douyin_api_sign(self.app_key, self.app_secret, method, param_json,
                                       query.get("timestamp", ""), query.get("v", ""))
            if not hmac.compare_digest(expected, query.get("sign", "")):
                return _error(BAD_SIGN, "签名校验失败")
            if self.qps and self._over_limit():
                return _error(FLOW_LIMIT, "接口调用频率超过限制,请稍后重试")
            try:
                params = json.loads(param_json or "{}")
            except ValueError:
                return _error(BAD_PARAM, "业务参数json解析失败")
            handler = {"token.create": self._create, "token.refresh": self._refresh,
                       "order.getSearchIndex": self._search_index}.get(method)
            if handler is None:
                return _error(BAD_PARAM, f"unknown method {method!r}")
            if method == "order.getSearchIndex":
                expiry = self.tokens.get(query.get("access_token", ""))
                if expiry is None:
                    return _error(TOKEN_UNKNOWN, "access_token不存在,请使用最新的access_token访问")
                if expiry <= self.clock():
                    return _error(TOKEN_EXPIRED, "access_token已过期")
            self.calls[method] = self.calls.get(method, 0) + 1
            return handler(params)

    def _over_limit(self) -> bool:
        second, n = self._window
        now = int(self.clock())
        n = n + 1 if now == second else 1
        self._window = (now, n)
        return n > self.qps

    def _grant(self) -> dict[str, Any]:
        token, refresh = secrets.token_hex(16), secrets.token_hex(16)
        self.tokens[token] = self.clock() + self.token_ttl
        self.refresh_tokens.add(refresh)
        return _ok({"access_token": token, "expires_in": int(self.token_ttl), "refresh_token": refresh,
                    "scope": "SCOPE", "shop_id": int(self.shop_id), "shop_name": "澜途运动官方旗舰店",
                    "authority_id": self.shop_id, "auth_subject_type": "MiniApp"})

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("grant_type") != "authorization_self" or str(params.get("shop_id")) != self.shop_id:
            return _error(BAD_PARAM, "grant_type must be authorization_self for this shop")
        return self._grant()

    def _refresh(self, params: dict[str, Any]) -> dict[str, Any]:
        refresh = params.get("refresh_token")
        if params.get("grant_type") != "refresh_token" or refresh not in self.refresh_tokens:
            return _error(BAD_PARAM, "refresh_token无效")
        self.refresh_tokens.discard(refresh)
        return self._grant()

    def _search_index(self, params: dict[str, Any]) -> dict[str, Any]:
        plain = str(params.get("plain_text") or "")
        if str(params.get("sensitive_type")) != "3" or not PHONE.fullmatch(plain):
            return _error(BAD_PARAM, "plain_text: a mainland mobile number with sensitive_type 3 (电话)")
        return _ok({"encrypt_index_text": search_index(plain)})


def _ok(data: dict[str, Any]) -> dict[str, Any]:
    return {"code": OK, "msg": "success", "sub_code": "", "sub_msg": "", "data": data,
            "log_id": secrets.token_hex(12)}


def _error(err: tuple[int, str], message: str) -> dict[str, Any]:
    code, sub = err
    return {"code": code, "msg": "请求失败", "sub_code": sub, "sub_msg": message, "data": {},
            "log_id": secrets.token_hex(12)}
