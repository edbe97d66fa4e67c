"""WeCom's callback cipher, WXBizMsgCrypt ("加解密方案"), for one corp.

- ``msg_signature = sha1(sorted(token, timestamp, nonce, encrypt) joined)``;
- ``encrypt`` is base64 of AES-256-CBC(key = base64(EncodingAESKey + "="), iv = key[:16]) over
  ``16 random bytes · 4-byte big-endian length · message · receiveid`` with PKCS#7 padding to 32 bytes;
  the receiveid is the corp id and must be ours.
Kept in core because both the callback receiver and the generator (which writes the demo brand's
captured callbacks) need it, and neither may import the other.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from siyu.core.errors import BadSignature, NotConfigured

BLOCK = 32


@dataclass(frozen=True)
class WecomCallbackConfig:
    token: str
    corp_id: str
    aes_key: str | None  # the 43-character EncodingAESKey; None = plain mode


class WecomCrypto:
    """WXBizMsgCrypt: sign, encrypt and decrypt callback payloads for one corp."""

    def __init__(self, config: WecomCallbackConfig) -> None:
        self.config = config
        if config.aes_key is not None:
            if len(config.aes_key) != 43:
                raise NotConfigured("SIYU_WECOM_AES_KEY must be the 43-character EncodingAESKey")
            self.key = base64.b64decode(config.aes_key + "=")

    def signature(self, timestamp: str, nonce: str, *parts: str) -> str:
        return hashlib.sha1("".join(sorted([self.config.token, timestamp, nonce, *parts])).encode()).hexdigest()

    def check(self, given: str | None, timestamp: str, nonce: str, *parts: str) -> None:
        if not given or not hmac.compare_digest(self.signature(timestamp, nonce, *parts), given.strip().lower()):
            raise BadSignature("signature does not match the token, timestamp, nonce and message")

    def decrypt(self, encrypted: str) -> str:
        try:
            raw = base64.b64decode(encrypted, validate=True)
            d = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
            plain = d.update(raw) + d.finalize()
            pad = plain[-1]
            if not 1 <= pad <= BLOCK:
                raise ValueError("bad padding")
            plain = plain[:-pad]
            (length,) = struct.unpack(">I", plain[16:20])
            message, receiver = plain[20:20 + length], plain[20 + length:]
        except (ValueError, struct.error) as exc:
            raise BadSignature(f"the message does not decrypt with our EncodingAESKey ({exc})") from None
        if receiver.decode(errors="replace") != self.config.corp_id:
            raise BadSignature("the message was encrypted for another corp id")
        return message.decode()

    def encrypt(self, message: str, random16: bytes | None = None) -> str:
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(message.encode())) + message.encode() \
            + self.config.corp_id.encode()
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        e = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(e.update(body) + e.finalize()).decode()

    def seal(self, message: str, timestamp: str | None = None, nonce: str = "siyu") -> tuple[str, dict[str, str]]:
        """What WeCom would POST for ``message``: the XML body and its query (used by tests and fakes)."""
        timestamp = timestamp or str(int(time.time()))
        encrypted = self.encrypt(message)
        body = (f"<xml><ToUserName><![CDATA[{self.config.corp_id}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>")
        return body, {"msg_signature": self.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                      "nonce": nonce}
