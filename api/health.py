"""Liveness and readiness for operators and load balancers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from api.deps import broker, container
from api.envelope import envelope, ok
from api.limits import limiter

blp = Blueprint("operations", __name__, url_prefix="/api", description="Health and readiness")
READY_WITHIN_S = 1.0  # each dependency must answer its ping within this (they are asked at once)


class HealthOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class ReadyOut(Schema):
    status = fields.String(required=True, metadata={"enum": ["ready", "not ready"]})
    checks = fields.Dict(keys=fields.String(), values=fields.String(), required=True,
                         metadata={"description": 'mongo, redis, broker: "ok" or "down: …"'})


@blp.route("/health")
class Health(MethodView):
    decorators = [limiter.exempt]

    @blp.response(200, envelope(HealthOut))
    def get(self) -> ResponseReturnValue:
        """The process is alive."""
        return jsonify(ok({"status": "ok"})), 200


@blp.route("/ready")
class Ready(MethodView):
    decorators = [limiter.exempt]

    @blp.response(200, envelope(ReadyOut))
    @blp.alt_response(503, schema=envelope(ReadyOut), description="a dependency is down "
                      "(success is false; checks names it)")
    def get(self) -> ResponseReturnValue:
        """MongoDB, Redis and the Celery broker answer; 503 if any does not, naming it."""
        c, queue = container(), broker()
        checks = check_all({"mongo": lambda: c.db.command("ping"), "redis": c.redis.ping,
                            "broker": queue.ping}, READY_WITHIN_S)
        ready = all(v == "ok" for v in checks.values())
        body = ok({"status": "ready" if ready else "not ready", "checks": checks})
        body["success"] = ready
        return jsonify(body), 200 if ready else 503


def check_all(probes: dict[str, Callable[[], object]], within_s: float) -> dict[str, str]:
    """Run every probe at once, each in its own thread, and wait ``within_s`` at most: "ok",
    "down: <error>", or "down: no answer within …" for one still hanging (its thread ends
    with its client's own timeout)."""
    checks = {name: f"down: no answer within {within_s:g} s" for name in probes}

    def run(name: str, probe: Callable[[], object]) -> None:
        try:
            probe()
            checks[name] = "ok"
        except Exception as exc:  # readiness reports, it does not raise
            checks[name] = f"down: {type(exc).__name__}"

    threads = [threading.Thread(target=run, args=item, daemon=True, name=f"ready-{item[0]}")
               for item in probes.items()]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + within_s
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return dict(checks)
