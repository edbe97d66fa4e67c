"""Personal data at rest: AES-GCM encryption and HMAC blind indexes.

Phones, emails, names and addresses are stored only as ciphertext. Equality lookups (has this phone
been seen?) use a blind index: HMAC-SHA256 of the normalised value under a separate key, so the
database can join on it without ever holding the value. Both keys are derived from one master key
with HKDF; the ciphertext carries a key version byte so the master key can be rotated later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from siyu.core.config import Settings
from siyu.core.errors import ConfigurationError

_KEY_VERSION = 1
_NONCE = 12
KEY_FILE = "secret.key"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"siyu-v1", info=purpose).derive(master)


@dataclass(frozen=True)
class Keys:
    encryption: bytes
    index: bytes
    session: bytes


def load_master_key(settings: Settings, *, create: bool = True) -> bytes:
    """The master key from settings, else from $SIYU_HOME/secret.key (generated once if allowed)."""
    if settings.secret_key:
        try:
            key = base64.b64decode(settings.secret_key, validate=True)
        except ValueError as exc:
            raise ConfigurationError("SIYU_SECRET_KEY is not valid base64") from exc
        if len(key) < 32:
            raise ConfigurationError("SIYU_SECRET_KEY must decode to at least 32 bytes")
        return key
    path = Path(settings.home) / KEY_FILE
    if path.exists():
        return base64.b64decode(path.read_text().strip())
    if not create:
        raise ConfigurationError(f"no SIYU_SECRET_KEY and no key file at {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    # Written with 0600 from the start: the key is the only thing between a dump and the phone numbers.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")
    return key


def derive_keys(master: bytes) -> Keys:
    return Keys(
        encryption=_derive(master, b"pii-encryption"),
        index=_derive(master, b"pii-blind-index"),
        session=_derive(master, b"console-session"),
    )


class Vault:
    """Encrypts, decrypts and blind-indexes personal identifiers with one set of keys."""

    def __init__(self, keys: Keys) -> None:
        self._aead = AESGCM(keys.encryption)
        self._index_key = keys.index
        self.session_secret = base64.urlsafe_b64encode(keys.session).decode()

    @classmethod
    def from_settings(cls, settings: Settings) -> Vault:
        return cls(derive_keys(load_master_key(settings)))

    def encrypt(self, plaintext: str | None, field: str) -> bytes | None:
        """``field`` is bound as associated data: a ciphertext moved to another column will not decrypt."""
        if plaintext is None or plaintext == "":
            return None
        nonce = secrets.token_bytes(_NONCE)
        ct = self._aead.encrypt(nonce, plaintext.encode("utf-8"), field.encode())
        return bytes([_KEY_VERSION]) + nonce + ct

    def decrypt(self, blob: bytes | None, field: str) -> str | None:
        if not blob:
            return None
        if blob[0] != _KEY_VERSION:
            raise ConfigurationError(f"ciphertext uses unknown key version {blob[0]}")
        nonce, ct = blob[1 : 1 + _NONCE], blob[1 + _NONCE :]
        return self._aead.decrypt(nonce, ct, field.encode()).decode("utf-8")

    def blind_index(self, kind: str, normalized: str) -> str:
        """32 hex chars of HMAC-SHA256: equal inputs give equal indexes, nothing else is revealed."""
        msg = kind.encode() + b"\x00" + normalized.encode("utf-8")
        return hmac.digest(self._index_key, msg, hashlib.sha256)[:16].hex()
