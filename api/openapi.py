"""The OpenAPI document states what the server enforces, by code applied to every operation:
who may call it (security, read from the view's own ``jwt_required``), every status it can
answer (each error in the envelope), and the request rules marshmallow fields cannot say."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from apispec import BasePlugin
from flask import Flask

# Printable ASCII, no space at either end (the server strips the key): 1 to 255 characters.
IDEMPOTENCY_KEY = {
    "in": "header", "name": "Idempotency-Key", "required": True,
    "description": "1 to 255 printable characters; the same key and body return the first "
                   "answer again for 24 h, the same key with another body is 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255,
               "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"},
}
BEARER, REFRESH = "bearer", "refreshBearer"
SECURITY_SCHEMES = {
    BEARER: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
             "description": "the access token from register, login or refresh"},
    REFRESH: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
              "description": "the refresh token (only POST /api/auth/refresh takes it)"},
}
EVERYWHERE = (429, 500, 503)  # rate limited; a bug (INTERNAL_ERROR); a dependency down
SIGNED_IN = (401, 403)
WRITES = ("post", "put", "patch", "delete")


def auth_of(view: Callable[..., Any]) -> str | None:
    """``"bearer"``, ``"refreshBearer"`` or None (public), from the ``jwt_required`` wrapping
    ``view``: what the server enforces, not what a docstring claims."""
    fn: Any = view
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if code is not None and code.co_qualname.startswith("jwt_required."):
            cells = dict(zip(code.co_freevars,
                             (c.cell_contents for c in fn.__closure__ or ()), strict=True))
            if cells.get("optional"):
                return None
            return REFRESH if cells.get("refresh") else BEARER
        fn = getattr(fn, "__wrapped__", None)
    return None


def statuses(method: str, operation: dict[str, Any], auth: str | None,
             has_path_params: bool) -> list[int]:
    """Every status ``operation`` can answer beside its documented successes."""
    codes = list(EVERYWHERE)
    has_body = "requestBody" in operation
    headers = [p for p in operation.get("parameters", []) if isinstance(p, dict)
               and p.get("in") == "header"]
    if has_body or headers:
        codes.append(400)  # an unreadable body, a missing Idempotency-Key
    if has_body:
        codes.append(413)
    if has_body or any(isinstance(p, dict) and p.get("in") == "query"
                       for p in operation.get("parameters", [])):
        codes.append(422)
    if method in WRITES:
        codes.append(409)  # the state does not allow it (a duplicate email, a paid deal)
    if auth is not None:
        codes += SIGNED_IN
        if method in WRITES:
            codes += [404, 422]  # the record is not yours; a rule of the domain refused it
    if has_path_params:
        codes.append(404)
    return sorted(set(codes))


class ContractPlugin(BasePlugin):
    """An apispec plugin: runs for each operation and each schema flask-smorest documents."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def schema_helper(self, name: str, definition: dict[str, Any],
                      **kwargs: Any) -> dict[str, Any] | None:
        """A schema's ``OPENAPI_EXTRA`` (``oneOf``, ``minProperties``…) joins its JSON schema."""
        schema = kwargs.get("schema")
        extra = getattr(schema, "OPENAPI_EXTRA", None)
        return dict(extra) if extra else None

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        rule = kwargs.get("rule")
        if rule is None or not operations:
            return
        view = self.app.view_functions.get(rule.endpoint)
        view_class = getattr(view, "view_class", None)
        for method, operation in operations.items():
            handler = getattr(view_class, method, None) if view_class else view
            auth = auth_of(handler) if handler is not None else None
            operation.setdefault("security", [{auth: []}] if auth else [])
            responses = operation.setdefault("responses", {})
            for code in statuses(method, operation, auth, bool(rule.arguments)):
                responses.setdefault(str(code), _component(code))


def _component(code: int) -> str:
    """flask-smorest registers one response per HTTP status, with ``Api.ERROR_SCHEMA``."""
    from http import HTTPStatus

    return HTTPStatus(code).name


def document_callbacks(spec: Any, app: Flask, blueprint: str) -> None:
    """M-Pesa's callbacks (a plain Flask blueprint): public, the path's token is the secret."""
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint.startswith(f"{blueprint}.")]:
        spec.path(rule=rule, operations={"post": {
            "tags": ["M-Pesa callbacks"], "security": [],
            "summary": "Safaricom posts a result here; stored raw, processed by a worker",
            "parameters": [{"in": "path", "name": "token", "required": True,
                            "schema": {"type": "string", "minLength": 1}}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "Accepted", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["ResultCode", "ResultDesc"],
                    "properties": {"ResultCode": {"type": "integer", "enum": [0]},
                                   "ResultDesc": {"type": "string"}}}}}},
                **{str(code): _component(code) for code in (400, 403, 404, 413, 500, 503)},
            }}})


DOCS_PAGES = {  # flask-smorest's endpoint → what it serves
    "api-docs.openapi_json": ("application/json", "This OpenAPI document"),
    "api-docs.openapi_swagger_ui": ("text/html", "Swagger UI (its assets served here)"),
    "api-docs.openapi_redoc": ("text/html", "ReDoc (its assets served here)"),
}


def document_docs(spec: Any, app: Flask) -> None:
    """The docs pages and the document itself: public GETs, in the document too."""
    for rule in [r for r in app.url_map.iter_rules() if r.endpoint in DOCS_PAGES]:
        media_type, summary = DOCS_PAGES[rule.endpoint]
        schema = {"type": "object"} if media_type == "application/json" else {"type": "string"}
        spec.path(rule=rule, operations={"get": {
            "tags": ["operations"], "summary": summary, "security": [],
            "responses": {"200": {"description": summary,
                                  "content": {media_type: {"schema": schema}}}}}})
