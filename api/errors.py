"""Every error leaves the API in the envelope: domain errors mapped here, once."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, g
from flask.typing import ResponseReturnValue
from flask_smorest import Api
from kombu.exceptions import OperationalError as BrokerError
from pymongo.errors import ConnectionFailure, PyMongoError
from redis.exceptions import RedisError
from werkzeug.exceptions import HTTPException

from api.envelope import ErrorSchema, error
from api.openapi import ContractPlugin
from domain.errors import DomainError

log = logging.getLogger(__name__)

DOMAIN_STATUS = {
    "VALIDATION_ERROR": 422, "NOT_FOUND": 404, "FORBIDDEN": 403, "UNAUTHORIZED": 401,
    "CONFLICT": 409, "IDEMPOTENCY_MISMATCH": 422, "BAD_REQUEST": 400,
}
# A dependency we cannot reach, or that did not answer in time: 503, "try again", never a 500.
# Every Redis error; pymongo's ConnectionFailure family (AutoReconnect, NetworkTimeout,
# ServerSelectionTimeoutError, WaitQueueTimeoutError, an operation cancelled when the pool is
# cleared) and any other pymongo error that is a timeout (``exc.timeout``: ExecutionTimeout
# when the operation's time ran out, WTimeoutError); the broker refusing a task.
UNAVAILABLE: tuple[type[Exception], ...] = (RedisError, PyMongoError, BrokerError)
RETRY_AFTER_S = 5
HTTP_CODES = {
    400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE", 422: "VALIDATION_ERROR", 429: "RATE_LIMITED",
}


def _field_errors(messages: Any) -> dict[str, Any]:
    """webargs nests errors by location (``{"json": {...}}``); clients want fields."""
    if not isinstance(messages, dict):
        return {"_schema": messages}
    flat: dict[str, Any] = {}
    for location, errors in messages.items():
        if isinstance(errors, dict):
            flat.update(errors)
        else:
            flat[location] = errors
    return flat


class EnvelopeApi(Api):  # type: ignore[misc]
    """flask-smorest's Api with its HTTP error handler answering in our envelope, and an
    OpenAPI document that says so: every error response is ``ErrorSchema`` (no catch-all
    ``default``: each status an operation can answer is listed, api/openapi.py)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None

    def init_app(self, app: Flask, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        spec_kwargs = dict(spec_kwargs or {})
        spec_kwargs["extra_plugins"] = [*spec_kwargs.get("extra_plugins", ()),
                                        ContractPlugin(app)]
        super().init_app(app, spec_kwargs=spec_kwargs)

    def _register_responses(self) -> None:
        """flask-smorest's response per status, each with ERROR_SCHEMA; 429 and 503 also say
        when to try again."""
        super()._register_responses()
        retry = {"Retry-After": {"description": "seconds to wait before trying again",
                                 "schema": {"type": "integer", "minimum": 0}}}
        lazy = self.spec.components.responses_lazy
        for name in ("TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"):
            lazy[name]["headers"] = retry

    def handle_http_exception(self, exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        data = getattr(exc, "data", {}) or {}
        details = _field_errors(data["messages"]) if "messages" in data else {}
        if status == 422:
            message = "some fields are invalid"
        elif status == 400 and details:
            message = "the request body could not be read"
            details = {}
        else:
            message = data.get("message") or exc.description or exc.name
        resp, code = error(status, HTTP_CODES.get(status, exc.name.upper().replace(" ", "_")),
                           message, details)
        for name, value in exc.get_headers():
            if name.lower() not in ("content-type", "content-length"):
                resp.headers[name] = value
        for name, value in (data.get("headers") or {}).items():
            resp.headers[name] = value
        return resp, code


def unavailable_dependency(exc: BaseException) -> str | None:
    """The dependency ``exc`` says is unreachable or too slow, or None if it says no such thing."""
    if isinstance(exc, RedisError):
        return "redis"
    if isinstance(exc, ConnectionFailure) or (isinstance(exc, PyMongoError) and exc.timeout):
        return "mongo"
    if isinstance(exc, BrokerError):
        return "broker"
    return None


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> ResponseReturnValue:
        return error(DOMAIN_STATUS.get(exc.code, 400), exc.code, exc.message, exc.details)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> ResponseReturnValue:
        log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return error(500, "INTERNAL_ERROR", "something went wrong on our side")

    def _unavailable(exc: Exception) -> ResponseReturnValue:
        dependency = unavailable_dependency(exc)
        if dependency is None:  # a pymongo error that is ours (a bad query, a duplicate key)
            return _unexpected(exc)
        log.error("a dependency is unavailable", extra={
            "request_id": g.get("request_id"), "dependency": dependency,
            "error": type(exc).__name__})
        resp, code = error(503, "SERVICE_UNAVAILABLE",
                           "a service we depend on is unavailable; try again shortly")
        resp.headers["Retry-After"] = str(RETRY_AFTER_S)
        return resp, code

    for kind in UNAVAILABLE:
        app.register_error_handler(kind, _unavailable)
