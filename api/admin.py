"""``/api/admin``: what operators need to review (flagged M-Pesa callbacks, the audit trail)."""

from __future__ import annotations

import json
from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from adapters.presenters import mask_callback_body
from api.deps import container, current_user
from api.envelope import ok, page_envelope
from api.schemas import Input
from domain.audit import AuditOutcome, AuditQuery
from domain.services import audit, callbacks

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
    body = fields.Function(lambda d: mask_callback_body(_parsed(d["raw"])),
                           metadata={"description": "the body as M-Pesa sent it, phone "
                                                    "numbers and names masked"})


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


class AuditArgs(Input):
    actor = fields.String(validate=validate.Length(1, 64),
                          metadata={"description": "a user id"})
    outcome = fields.String(validate=validate.OneOf([o.value for o in AuditOutcome]))
    action = fields.String(validate=validate.Length(1, 200),
                           metadata={"description": "an endpoint, e.g. admin.Callbacks"})
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class AuditActorOut(Schema):
    id = fields.String(allow_none=True)
    role = fields.String()


class AuditOut(Schema):
    id = fields.String()
    at = fields.DateTime()
    actor = fields.Nested(AuditActorOut)
    action = fields.String()
    method = fields.String()
    path = fields.String(metadata={"description": "the route's template"})
    objectId = fields.String(attribute="object_id", allow_none=True)
    ip = fields.String(allow_none=True)
    userAgent = fields.String(attribute="user_agent")
    outcome = fields.String()
    status = fields.Integer(allow_none=True)
    errorCode = fields.String(attribute="error_code", allow_none=True)
    requestId = fields.String(attribute="request_id", allow_none=True)


@blp.route("/audit")
class AuditTrail(MethodView):
    @jwt_required()
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, page_envelope(AuditOut))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The audit trail, newest first: admins' requests and refused ones. Read-only. ``total``
        is counted up to 10,000 (``10000``: at least that many)."""
        outcome = AuditOutcome(args["outcome"]) if "outcome" in args else None
        query = AuditQuery(args.get("actor"), outcome, args.get("action"), args["page"],
                           args["limit"])
        items, total = audit.audit_trail(container().audit(), current_user(), query)
        return ok({"items": items, "page": args["page"], "limit": args["limit"], "total": total})
