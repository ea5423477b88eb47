"""Redis or MongoDB down under a running API: 503 in the envelope (never a 500), and sign-in
stays rate-limited without Redis. Each dependency is stopped in a stack of its own, on embedded
servers that stack owns even when `make test` is given real ones (MONGO_URL, REDIS_URL): a test
does not stop a user's server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.helpers import PASSWORD, Api, register, wait_until
from tests.stack import Stack, start_stack

AUTH_LIMIT = 3


@dataclass
class Down:
    stack: Stack
    user: Api  # signed in while everything was up


def _stopped(name: str, **env: str) -> Iterator[Down]:
    running = start_stack(own_servers=True, **env)
    try:
        user = register(running, "buyer")
        running.stop(name)

        def noticed() -> bool:
            ready = requests.get(f"{running.api}/api/ready", timeout=15)
            return ready.status_code == 503 and \
                ready.json()["data"]["checks"][name].startswith("down")

        wait_until(noticed, timeout=30, every=0.2, what=f"the API to see {name} down")
        yield Down(running, user)
    finally:
        running.close()


@pytest.fixture(scope="module")
def redis_down() -> Iterator[Down]:
    yield from _stopped("redis", RATELIMIT_AUTH=f"{AUTH_LIMIT}/minute")


@pytest.fixture(scope="module")
def mongo_down() -> Iterator[Down]:
    yield from _stopped("mongo")


def _unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text)
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert body["error"]["requestId"] == response.headers["X-Request-ID"]
    assert int(response.headers["Retry-After"]) > 0


def test_with_redis_down_an_authenticated_request_is_503_not_500(redis_down: Down) -> None:
    for path in ("/api/users/me", "/api/transactions", "/api/wallet"):
        _unavailable(redis_down.user.get(path))


def test_with_redis_down_sign_in_is_still_rate_limited(redis_down: Down) -> None:
    anonymous = Api(redis_down.stack.api)
    body = {"email": "nobody@example.com", "password": "whatever it is"}
    answers = [anonymous.post("/api/auth/login", body).status_code for _ in range(AUTH_LIMIT + 1)]
    assert answers == [503] * AUTH_LIMIT + [429]  # the lockout fails closed; the limit goes on
    limited = anonymous.post("/api/auth/login", body)
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "RATE_LIMITED"


def test_with_redis_down_a_callback_is_still_stored_and_acknowledged(redis_down: Down) -> None:
    stack = redis_down.stack
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_rd",
                                     "ResultCode": 1032, "ResultDesc": "Request cancelled"}}}
    answer = requests.post(f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}",
                           json=body, timeout=30)
    assert answer.status_code == 200  # stored; the janitor enqueues it once Redis is back


def test_with_mongo_down_a_request_is_503_not_500(mongo_down: Down) -> None:
    _unavailable(mongo_down.user.get("/api/users/me"))
    email = mongo_down.user.user["email"]
    _unavailable(Api(mongo_down.stack.api).post("/api/auth/login",
                                                {"email": email, "password": PASSWORD}))
