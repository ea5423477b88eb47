"""The response envelope of API.md, for success and for errors."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from flask import Response, g, jsonify
from marshmallow import Schema, fields


def _timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ok(data: Any, message: str | None = None) -> dict[str, Any]:
    """What a view returns; flask-smorest dumps it through ``envelope(Schema)``."""
    return {"success": True, "data": data, "message": message, "timestamp": _timestamp()}


def error(status: int, code: str, message: str,
          details: dict[str, Any] | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {
        "success": False,
        "error": {"code": code, "message": message, "details": details or {}},
        "timestamp": _timestamp(),
    }
    if status >= 500:
        body["error"]["requestId"] = g.get("request_id")
    return jsonify(body), status


class _Envelope(Schema):
    success = fields.Boolean(required=True)
    message = fields.String(allow_none=True)
    timestamp = fields.String(required=True)


class PageSchema(Schema):
    page = fields.Integer()
    limit = fields.Integer()
    total = fields.Integer()


@cache
def envelope(schema: type[Schema], many: bool = False) -> type[Schema]:
    """``{success, data: <schema>, message, timestamp}`` as a schema, for dumping and for docs."""
    data = fields.List(fields.Nested(schema)) if many else fields.Nested(schema)
    name = f"{schema.__name__.removesuffix('Schema')}{'List' if many else ''}Envelope"
    return type(name, (_Envelope,), {"data": data})


@cache
def page_envelope(schema: type[Schema]) -> type[Schema]:
    """``data`` is ``{items, page, limit, total}``."""
    page = type(f"{schema.__name__.removesuffix('Schema')}Page", (PageSchema,),
                {"items": fields.List(fields.Nested(schema))})
    return envelope(page)


class MessageSchema(Schema):
    """Responses with no data of their own."""


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "VALIDATION_ERROR"})
    message = fields.String(required=True)
    details = fields.Dict(required=True, metadata={
        "description": "field → messages for VALIDATION_ERROR; otherwise usually empty"})
    requestId = fields.String(allow_none=True, metadata={
        "description": "on 5xx answers: the X-Request-ID to quote to operators"})


class ErrorSchema(Schema):
    """Every error of ``/api/*``: ``{success: false, error: {code, message, details}}``."""

    success = fields.Boolean(required=True, metadata={"enum": [False]})
    error = fields.Nested(ErrorBodySchema, required=True)
    timestamp = fields.String(required=True)
