"""The platforms' push signatures, in one place for the receivers (``ingest``) and for the generator,
which signs the demo brand's captured deliveries and must sign them exactly as the platforms do.

- Youzan message push: ``Event-Sign = md5(client_id + body + client_secret)``; older pushes carry
  ``sign = md5(client_id + msg + client_secret)`` in the body.
- Douyin shop push: ``event-sign = md5(app_key + body + app_secret)``, or HMAC-SHA256 keyed with the app
  secret over the same text when ``sign-method: hmac-sha256``.
- Taobao / Tmall SPI (brand member centre): ``sign = upper(md5(secret + k1v1k2v2… + body + secret))``
  over the query parameters other than ``sign``, sorted by name.
- Douyin open platform SPI (member join): header ``x-life-sign = sha256(client_secret & k1=v1 & k2=v2 …
  & http_body=<raw body>)`` over the URL parameters other than ``sign``, sorted by name, the raw body last.
- Douyin shop open platform API (calls Siyu makes, and the demo's simulated shop checks): below.
"""

from __future__ import annotations

import hashlib
import hmac


def youzan_event_sign(client_id: str, body: bytes, secret: str) -> str:
    return hashlib.md5(client_id.encode() + body + secret.encode()).hexdigest()


def youzan_msg_sign(client_id: str, msg: str, secret: str) -> str:
    return hashlib.md5((client_id + msg + secret).encode()).hexdigest()


def douyin_sign(app_key: str, body: bytes, secret: str, method: str = "md5") -> str:
    signed = app_key.encode() + body + secret.encode()
    if method.lower() == "hmac-sha256":
        return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hashlib.md5(signed).hexdigest()


def top_spi_sign(secret: str, params: dict[str, str], body: bytes) -> str:
    text = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign")
    return hashlib.md5(secret.encode() + text.encode() + body + secret.encode()).hexdigest().upper()


def douyin_spi_sign(client_secret: str, params: dict[str, str], body: bytes) -> str:
    parts = [client_secret, *(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign")]
    text = "&".join(parts).encode() + b"&http_body=" + body
    return hashlib.sha256(text).hexdigest()


def douyin_api_sign(app_key: str, secret: str, method: str, param_json: str, timestamp: str, v: str = "2") -> str:
    """Douyin shop open platform (抖店) API calls, ``sign_method=hmac-sha256``: HMAC-SHA256 keyed with the
    app secret over ``secret + "app_key" + key + "method" + method + "param_json" + json + "timestamp" +
    timestamp + "v" + v + secret``, where ``param_json`` is the business parameters as compact JSON with
    sorted keys (what is sent is what is signed)."""
    text = f"{secret}app_key{app_key}method{method}param_json{param_json}timestamp{timestamp}v{v}{secret}"
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
