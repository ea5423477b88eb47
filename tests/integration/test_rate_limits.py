"""Rate limits on the real Redis: the envelope, Retry-After, and separate budgets per route."""

from __future__ import annotations

import uuid

from adapters.settings import Settings
from api import create_app
from tests.stack import Stack


def test_sign_in_attempts_beyond_the_limit_get_429_with_retry_after(stack: Stack) -> None:
    settings = Settings(
        redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
        mongo_db=stack.scratch_db("limits"), ratelimit_auth="2/minute",
        # A Redis call slower than the default bound (0.25 s for the limiter) on a loaded
        # machine sends the count to the in-memory fallback, which starts from zero.
        redis_timeout_s=10,
        socketio_channel=f"limits-{uuid.uuid4().hex[:6]}",
    )
    client = create_app(settings).test_client()
    body = {"email": "nobody@example.com", "password": "whatever it is"}
    ip = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    answers = [client.post("/api/auth/login", json=body, environ_base=ip) for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    limited = answers[-1]
    assert limited.json["error"]["code"] == "RATE_LIMITED"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/health", environ_base=ip).status_code == 200


def test_behind_a_proxy_each_client_has_its_own_budget_and_forging_does_not_reset_it(
    stack: Stack,
) -> None:
    settings = Settings(
        redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
        mongo_db=stack.scratch_db("limits"), ratelimit_auth="2/minute",
        # A Redis call slower than the default bound (0.25 s for the limiter) on a loaded
        # machine sends the count to the in-memory fallback, which starts from zero.
        redis_timeout_s=10,
        socketio_channel=f"limits-{uuid.uuid4().hex[:6]}", trusted_proxy_hops=1,
    )
    client = create_app(settings).test_client()
    body = {"email": "nobody@example.com", "password": "whatever it is"}
    balancer = {"REMOTE_ADDR": "10.0.0.5"}  # every request arrives from the load balancer
    one, other = (f"198.51.{uuid.uuid4().int % 250}.{n}" for n in (1, 2))

    def login(forwarded: str) -> int:
        return client.post("/api/auth/login", json=body, environ_base=balancer,
                           headers={"X-Forwarded-For": forwarded}).status_code

    assert [login(one), login(one)] == [401, 401]
    assert login(f"203.0.113.{uuid.uuid4().int % 250}, {one}") == 429  # a forged entry: same
    assert login(other) == 401  # another client behind the same balancer is not limited
