"""Sign-in when Redis (the lockout counters, the revocation list) cannot be reached: refused
with a 503, never let through uncounted; the rate limit goes on in this process's memory."""

from __future__ import annotations

import uuid

from adapters.settings import Settings
from api import create_app
from devstack import services
from tests.stack import Stack


def test_with_redis_unreachable_login_fails_closed_and_stays_rate_limited(stack: Stack) -> None:
    dead = f"redis://127.0.0.1:{services.free_port()}/0"  # nothing listens there
    settings = Settings(
        redis_url=dead, mongo_url=stack.env["MONGO_URL"], redis_timeout_s=0.2,
        mongo_db=stack.scratch_db("nored"), ratelimit_auth="3/minute",
        socketio_channel=f"nored-{uuid.uuid4().hex[:6]}",
    )
    client = create_app(settings).test_client()
    ip = {"REMOTE_ADDR": f"10.8.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"}
    body = {"email": "nobody@example.com", "password": "whatever it is"}
    answers = [client.post("/api/auth/login", json=body, environ_base=ip) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 503, 429]
    assert answers[0].json["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert int(answers[0].headers["Retry-After"]) > 0 and "data" not in answers[0].json
    assert answers[-1].json["error"]["code"] == "RATE_LIMITED"
