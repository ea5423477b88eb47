"""OAuth client-credentials check and the bearer tokens it hands out (daraja.md section 2)."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
import time
from collections.abc import Callable

from sandbox.config import SandboxConfig
from sandbox.errors import (
    InvalidClientCredentials,
    invalid_access_token,
    invalid_authentication,
    invalid_grant_type,
)
from sandbox.ids import access_token

GRANT_TYPE = "client_credentials"


class TokenStore:
    """Bearer tokens with a real lifetime; several valid tokens may coexist."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._expiry_by_token: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = access_token()
        now = self._clock()
        with self._lock:
            self._expiry_by_token = {t: e for t, e in self._expiry_by_token.items() if e > now}
            self._expiry_by_token[token] = now + self._ttl_s
        return token

    def is_valid(self, token: str) -> bool:
        with self._lock:
            expiry = self._expiry_by_token.get(token)
        return expiry is not None and expiry > self._clock()

    def require_bearer(self, authorization: str | None) -> None:
        """Raise Daraja's 404.001.03 unless the header carries a valid, unexpired bearer token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not self.is_valid(token.strip()):
            raise invalid_access_token()


def authenticate_client(
    authorization: str | None, grant_type: str | None, config: SandboxConfig
) -> None:
    """Check, in this order: Basic auth present and decodable, grant type, key and secret."""
    key, secret = _basic_credentials(authorization)
    if grant_type != GRANT_TYPE:
        raise invalid_grant_type()
    key_ok = hmac.compare_digest(key.encode(), config.consumer_key.encode())
    secret_ok = hmac.compare_digest(secret.encode(), config.consumer_secret.encode())
    if not (key_ok and secret_ok):
        raise InvalidClientCredentials()


def _basic_credentials(authorization: str | None) -> tuple[str, str]:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        raise invalid_authentication()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_authentication() from None
    key, separator, secret = decoded.partition(":")
    if not separator:
        raise invalid_authentication()
    return key, secret
