"""The lockout counter on the real Redis: per account, keyed by a hash of the email, with the
threshold and duration from the settings."""

from __future__ import annotations

import hashlib
import uuid

import redis

from adapters.redis_store import LoginAttempts
from tests.stack import Stack


def test_the_lock_is_per_account_keyed_by_a_hash_and_expires(stack: Stack) -> None:
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    prefix = f"t{uuid.uuid4().hex[:6]}:login:failures:"
    attempts = LoginAttempts(client, threshold=3, lock_s=30, prefix=prefix)
    email, other = f"v-{uuid.uuid4().hex[:6]}@example.com", "other@example.com"
    for _ in range(2):
        attempts.failed(email)
    assert not attempts.locked(email)
    attempts.failed(email)
    assert attempts.locked(email) and not attempts.locked(other)
    key = prefix + hashlib.sha256(email.encode()).hexdigest()
    assert client.get(key) == "3" and 0 < client.ttl(key) <= 30
    assert not any(email in k for k in client.scan_iter(prefix + "*"))
    attempts.failed(email)  # a failure while locked does not extend the lock
    assert 0 < client.ttl(key) <= 30
    client.delete(key)  # what an operator does to unlock (docs/operations.md)
    assert not attempts.locked(email)
    attempts.failed(other)
    attempts.succeeded(other)
    assert client.get(prefix + hashlib.sha256(other.encode()).hexdigest()) is None
