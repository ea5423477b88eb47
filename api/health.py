"""Liveness and readiness for operators and load balancers."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint

from api.deps import broker, container
from api.envelope import ok
from api.limits import limiter

blp = Blueprint("operations", __name__, url_prefix="/api", description="Health and readiness")


@blp.route("/health")
class Health(MethodView):
    decorators = [limiter.exempt]

    def get(self) -> ResponseReturnValue:
        """The process is alive."""
        return jsonify(ok({"status": "ok"})), 200


@blp.route("/ready")
class Ready(MethodView):
    decorators = [limiter.exempt]

    def get(self) -> ResponseReturnValue:
        """MongoDB, Redis and the Celery broker answer; 503 if any does not."""
        c = container()
        checks: dict[str, Any] = {}
        for name, probe in (("mongo", lambda: c.db.command("ping")),
                            ("redis", c.redis.ping),
                            ("broker", lambda: broker().ping())):
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # readiness reports, it does not raise
                checks[name] = f"down: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        body = ok({"status": "ready" if ready else "not ready", "checks": checks})
        body["success"] = ready
        return jsonify(body), 200 if ready else 503
