"""Redis: the shared Daraja token cache and the JWT revocation list."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import redis


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, socket_timeout=5,
                                socket_connect_timeout=5, health_check_interval=30)


class TokenCache:
    """One OAuth token per consumer key for every worker process, refreshed before expiry."""

    MARGIN_S = 120  # refresh this long before Daraja's stated expiry

    def __init__(self, client: redis.Redis, consumer_key: str) -> None:
        self._r = client
        digest = hashlib.sha256(consumer_key.encode()).hexdigest()[:16]
        self._key = f"daraja:token:{digest}"

    def get(self, fetch: Callable[[], tuple[str, int]]) -> str:
        """The cached token, or a new one from ``fetch`` (token, expires_in seconds)."""
        token = self._r.get(self._key)
        if token:
            return str(token)
        with self._r.lock(self._key + ":lock", timeout=30, blocking_timeout=30):
            token = self._r.get(self._key)  # another process may have fetched it meanwhile
            if token:
                return str(token)
            token, expires_in = fetch()
            self._r.set(self._key, token, ex=max(expires_in - self.MARGIN_S, 1))
            return token

    def forget(self, token: str) -> None:
        """Drop ``token`` after Daraja called it invalid (only if nobody replaced it yet)."""
        if self._r.get(self._key) == token:
            self._r.delete(self._key)


class Revocations:
    """Revoked JWT ids, kept until the token would have expired anyway."""

    def __init__(self, client: redis.Redis, prefix: str = "jwt:revoked:") -> None:
        self._r = client
        self._prefix = prefix

    def revoke(self, jti: str, ttl_s: int) -> bool:
        """True if this call revoked it; False if it was already revoked (one winner)."""
        return bool(self._r.set(self._prefix + jti, "1", ex=max(ttl_s, 1), nx=True))

    def is_revoked(self, jti: str) -> bool:
        return bool(self._r.exists(self._prefix + jti))
