"""The lockout counter on the real Redis: per account, keyed by a hash of the email, with the
threshold and duration from the settings."""

from __future__ import annotations

import hashlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis
from werkzeug.test import TestResponse

from adapters.redis_store import LoginAttempts
from tests.stack import Stack


def test_the_lock_is_per_account_keyed_by_a_hash_and_expires(stack: Stack) -> None:
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    prefix = f"t{uuid.uuid4().hex[:6]}:login:failures:"
    attempts = LoginAttempts(client, threshold=3, lock_s=30, prefix=prefix)
    email, other = f"v-{uuid.uuid4().hex[:6]}@example.com", "other@example.com"
    assert [attempts.begin(email) for _ in range(2)] == [True, True]
    assert not attempts.locked(email)
    assert attempts.begin(email)  # the third attempt is checked, and locks if it fails
    assert attempts.locked(email) and not attempts.locked(other)
    key = prefix + hashlib.sha256(email.encode()).hexdigest()
    assert client.get(key) == "3" and 0 < client.ttl(key) <= 30
    assert not any(email in k for k in client.scan_iter(prefix + "*"))
    assert not attempts.begin(email)  # refused while locked: neither counted nor extended
    assert client.get(key) == "3" and 0 < client.ttl(key) <= 30
    client.delete(key)  # what an operator does to unlock (docs/operations.md)
    assert not attempts.locked(email)
    assert attempts.begin(other)
    attempts.succeeded(other)
    assert client.get(prefix + hashlib.sha256(other.encode()).hexdigest()) is None


def test_attempts_begun_at_once_are_let_through_up_to_the_threshold(stack: Stack) -> None:
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True,
                                  max_connections=64)
    attempts = LoginAttempts(client, threshold=10, lock_s=30,
                             prefix=f"t{uuid.uuid4().hex[:6]}:login:failures:")
    email = f"v-{uuid.uuid4().hex[:6]}@example.com"
    with ThreadPoolExecutor(50) as pool:
        let_through = list(pool.map(lambda _: attempts.begin(email), range(50)))
    assert let_through.count(True) == 10 and attempts.locked(email)


def test_failures_from_ten_addresses_lock_the_account_for_every_address(stack: Stack) -> None:
    from adapters.settings import Settings
    from api import create_app

    settings = Settings(
        redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
        mongo_db=stack.scratch_db("lock"), socketio_channel=f"lock-{uuid.uuid4().hex[:6]}",
    )
    client = create_app(settings).test_client()
    email, password = f"v-{uuid.uuid4().hex[:8]}@example.com", "correct horse battery"
    created = client.post("/api/auth/register", json={
        "email": email, "password": password, "firstName": "A", "lastName": "B", "role": "buyer"})
    assert created.status_code == 201

    def login(secret: str, n: int) -> TestResponse:
        return client.post("/api/auth/login", json={"email": email, "password": secret},
                           environ_base={"REMOTE_ADDR": f"10.77.{n}.{uuid.uuid4().int % 250}"})

    wrong = [login("not the password", n) for n in range(10)]
    assert {w.status_code for w in wrong} == {401}
    locked = login(password, 200)
    assert locked.status_code == 401 and locked.json is not None and wrong[0].json is not None
    assert locked.json["error"] == wrong[0].json["error"] and "data" not in locked.json
    escrow = client.application.extensions["escrow"]
    escrow.redis.delete(escrow.login_attempts.key(email))  # what an operator does to unlock
    assert login(password, 201).status_code == 200
