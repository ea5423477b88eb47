"""``/api/admin``: what operators need to review (flagged M-Pesa callbacks)."""

from __future__ import annotations

import json
from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from api.deps import container, current_user
from api.envelope import ok, page_envelope
from api.schemas import Input
from domain.services import callbacks

blp = Blueprint("admin", __name__, url_prefix="/api/admin", description="Operators only")


class CallbackArgs(Input):
    status = fields.String(load_default="flagged",
                           validate=validate.OneOf(["flagged", "received", "processed", "all"]))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class CallbackOut(Schema):
    id = fields.String(attribute="_id")
    kind = fields.String()
    status = fields.String()
    outcome = fields.Function(lambda d: (d.get("processed") or {}).get("outcome"))
    receivedAt = fields.DateTime()
    sourceIp = fields.String(allow_none=True)
    repeats = fields.Integer()
    body = fields.Function(lambda d: _parsed(d["raw"]),
                           metadata={"description": "the body as M-Pesa sent it"})


def _parsed(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@blp.route("/callbacks")
class Callbacks(MethodView):
    @jwt_required()
    @blp.arguments(CallbackArgs, location="query")
    @blp.response(200, page_envelope(CallbackOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Stored callbacks, newest first; by default the flagged ones (money did not move)."""
        status = None if args["status"] == "all" else args["status"]
        items, total = callbacks.stored_callbacks(container().callbacks, current_user(), status,
                                                  args["page"], args["limit"])
        return ok({"items": items, "page": args["page"], "limit": args["limit"], "total": total})
