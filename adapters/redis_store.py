"""Redis: the shared Daraja token cache and the JWT revocation list."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from adapters.settings import Settings

DEFAULT_TIMEOUT_S = Settings.redis_timeout_s


def client_options(timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Options for every Redis client we make (ours, the rate limiter's, Socket.IO's): a
    command or a connection that takes longer than ``timeout_s`` fails with a Redis error
    instead of holding the caller. A dropped connection (a restarted server) is retried once,
    at once; a timeout is not retried: a hung server would only make us wait twice as long
    (redis-py retries both ten times by default)."""
    return {"socket_timeout": timeout_s, "socket_connect_timeout": timeout_s,
            "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))}


def connect(url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> redis.Redis:
    return redis.Redis.from_url(url, decode_responses=True, health_check_interval=30,
                                **client_options(timeout_s))


class TokenCache:
    """One OAuth token per consumer key for every worker process, refreshed before expiry."""

    MARGIN_S = 120  # refresh this long before Daraja's stated expiry
    LOCK_WAIT_S = 30  # the longest a caller waits for another's fetch (and holds the lock)

    def __init__(self, client: redis.Redis, consumer_key: str) -> None:
        self._r = client
        digest = hashlib.sha256(consumer_key.encode()).hexdigest()[:16]
        self._key = f"daraja:token:{digest}"

    def get(self, fetch: Callable[[], tuple[str, int]]) -> str:
        """The cached token, or a new one from ``fetch`` (token, expires_in seconds)."""
        token = self._r.get(self._key)
        if token:
            return str(token)
        with self._r.lock(self._key + ":lock", timeout=self.LOCK_WAIT_S,
                          blocking_timeout=self.LOCK_WAIT_S):
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
