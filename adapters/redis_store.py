"""Redis: the shared Daraja token cache and the JWT revocation list."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from adapters.settings import Settings

DEFAULT_TIMEOUT_S = Settings.redis_timeout_s
log = logging.getLogger(__name__)


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
    """What makes a JWT stop working before its ``exp``, each kept in Redis only as long as a
    token it could concern may live: one token (its ``jti``: logout, a used refresh token), a
    whole family (every token descended from one login: logout, a replayed refresh token),
    and a person's every session (logout everywhere, a password change). The last is a
    counter, the person's *session generation*, that every token carries from when it was
    issued: ending every session increments it, which ends every token of an older
    generation. A counter, not a time: clocks of different hosts never enter into it, and two
    revocations can only ever move it on. Kept without expiry (one small key per person who
    ever used it): were it to expire and start again, older tokens would match it. Each
    revocation is also announced on ``channel``, so that every API process can
    close the sockets it holds for the revoked tokens."""

    def __init__(self, client: redis.Redis, prefix: str = "jwt:revoked:",
                 channel: str | None = None) -> None:
        self._r = client
        self._prefix = prefix
        self._family = "jwt:family-revoked:"
        self._generation = "jwt:session-generation:"
        self.channel = channel

    def revoke(self, jti: str, ttl_s: int) -> bool:
        """True if this call revoked it; False if it was already revoked (one winner)."""
        won = bool(self._r.set(self._prefix + jti, "1", ex=max(ttl_s, 1), nx=True))
        if won:
            self._announce({"jti": jti})
        return won

    def revoke_family(self, family: str, ttl_s: int) -> None:
        self._r.set(self._family + family, "1", ex=max(ttl_s, 1))
        self._announce({"family": family})

    def session_generation(self, user_id: str) -> int:
        """What a token issued now for ``user_id`` carries (``sgen``)."""
        return int(self._r.get(self._generation + user_id) or 0)

    def revoke_sessions(self, user_id: str) -> int:
        """Every token of ``user_id`` issued until now; the new generation."""
        generation = int(self._r.incr(self._generation + user_id))
        self._announce({"user": user_id, "generation": generation})
        return generation

    def is_revoked(self, jti: str) -> bool:
        return bool(self._r.exists(self._prefix + jti))

    def is_blocked(self, jti: str | None, family: str | None, user_id: str,
                   generation: int) -> bool:
        """Any of the three revocations applies (one round trip). ``jti`` None: not asked."""
        ask = self._r.pipeline(transaction=False)
        ask.exists(self._prefix + (jti or ""))
        ask.exists(self._family + (family or ""))
        ask.get(self._generation + user_id)
        by_id, by_family, current = ask.execute()
        return bool((jti and by_id) or (family and by_family)
                    or generation < int(current or 0))

    def _announce(self, message: dict[str, Any]) -> None:
        """Best effort: a socket missed here is closed by its process's periodic re-check."""
        if not self.channel:
            return
        try:
            self._r.publish(self.channel, json.dumps(message))
        except redis.RedisError as error:
            log.warning("revocation not announced", extra={"error": str(error)})


def subscriber(url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> redis.Redis:
    """A client for a long-lived pub/sub subscription: no read timeout (it waits for
    messages), a bounded connection time, and keep-alives."""
    return redis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=timeout_s,
                                socket_keepalive=True, health_check_interval=30)


# An attempt counted atomically before its password is checked, or refused (0) when the count
# has reached the threshold: the first opens the window; the one that reaches the threshold
# (re)starts the lock's clock. Attempts refused while locked neither count nor extend it.
_BEGIN = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[2]) then return 0 end
n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if n == tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
"""


class LoginAttempts:
    """Sign-in attempts per account (PCI DSS 4.0 req. 8.3.4): after ``threshold`` failures
    within ``window_s`` the account is locked for ``lock_s``. Keyed by the SHA-256 of the
    normalised email (no address is kept in Redis): ``login:failures:<sha256 hex>``; deleting
    the key unlocks the account. Redis errors propagate: sign-in fails closed (503)."""

    def __init__(self, client: redis.Redis, threshold: int, lock_s: int,
                 window_s: int | None = None, prefix: str = "login:failures:") -> None:
        self._r = client
        self._threshold = threshold
        self._lock_s = lock_s
        self._window_s = window_s or lock_s
        self._prefix = prefix
        self._begin = client.register_script(_BEGIN)

    def key(self, email: str) -> str:
        return self._prefix + hashlib.sha256(email.encode()).hexdigest()

    def begin(self, email: str) -> bool:
        return bool(self._begin(keys=[self.key(email)],
                                args=[self._window_s, self._threshold, self._lock_s]))

    def locked(self, email: str) -> bool:
        count = self._r.get(self.key(email))
        return count is not None and int(count) >= self._threshold

    def succeeded(self, email: str) -> None:
        self._r.delete(self.key(email))

    def clear(self, email: str) -> bool:
        """An operator's unlock: forget the failures; False if the account was not locked."""
        count = self._r.getdel(self.key(email))
        return count is not None and int(count) >= self._threshold
