"""The Flask application factory of the Daraja sandbox."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import MethodNotAllowed, NotFound

from sandbox.config import SandboxConfig
from sandbox.errors import (
    DarajaError,
    InvalidClientCredentials,
    method_not_allowed,
    resource_not_found,
)
from sandbox.routes import (
    B2C_PATHS,
    B2C_V3_PATH,
    CONTROL_PREFIX,
    STK_PUSH_PATH,
    TRANSACTION_STATUS_PATH,
    control_blueprint,
    daraja_blueprint,
    request_json,
)
from sandbox.state import Sandbox

_PHONE_FIELDS = {STK_PUSH_PATH: "PhoneNumber"} | dict.fromkeys(B2C_PATHS, "PartyB")
"""The field logged as ``phone``: the customer of an STK push or a B2C payment."""
_ORIGINATOR_ID_FIELDS = {
    B2C_V3_PATH: "OriginatorConversationID",
    TRANSACTION_STATUS_PATH: "OriginalConversationID",
}
"""Where the logged B2C OriginatorConversationID is when the request was not accepted."""


def create_app(config: SandboxConfig | None = None) -> Flask:
    """A sandbox with its own in-memory state; ``config=None`` reads it from the environment."""
    sandbox = Sandbox(config if config is not None else SandboxConfig.from_env())
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep Daraja's field order
    app.register_blueprint(daraja_blueprint(sandbox))
    app.register_blueprint(control_blueprint(sandbox))
    _register_error_handlers(app)
    _register_daraja_hooks(app, sandbox)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DarajaError)
    def daraja_error(error: DarajaError) -> ResponseReturnValue:
        return error.response()

    @app.errorhandler(InvalidClientCredentials)
    def invalid_client_credentials(_: InvalidClientCredentials) -> ResponseReturnValue:
        return Response(b"", status=400, mimetype="text/plain")

    @app.errorhandler(MethodNotAllowed)
    def wrong_verb(_: MethodNotAllowed) -> ResponseReturnValue:
        return method_not_allowed(request.method).response()

    @app.errorhandler(NotFound)
    def unknown_path(_: NotFound) -> ResponseReturnValue:
        return resource_not_found().response()


def _register_daraja_hooks(app: Flask, sandbox: Sandbox) -> None:
    """Latency and the request log apply to every path outside the control prefix."""

    @app.before_request
    def add_latency() -> None:
        if not _is_daraja_path(request.path):
            return
        phone = _field_text(request_json(), _PHONE_FIELDS.get(request.path))
        g.in_flight = sandbox.requests.begin(request.path, phone)
        if sandbox.config.latency_ms:
            time.sleep(sandbox.config.latency_ms / 1000)

    @app.teardown_request
    def answered(_: BaseException | None) -> None:
        if "in_flight" in g:
            sandbox.requests.end(g.in_flight)

    @app.after_request
    def log_request(response: Response) -> Response:
        if _is_daraja_path(request.path):
            body = request_json()
            sandbox.requests.record(
                request.method,
                request.path,
                body,
                response.status_code,
                phone=_field_text(body, _PHONE_FIELDS.get(request.path)),
                checkout_request_id=g.get("checkout_request_id")
                or _field_text(body, "CheckoutRequestID"),
                originator_conversation_id=g.get("originator_conversation_id")
                or _field_text(body, _ORIGINATOR_ID_FIELDS.get(request.path)),
            )
        return response



def _is_daraja_path(path: str) -> bool:
    return path != CONTROL_PREFIX and not path.startswith(CONTROL_PREFIX + "/")


def _field_text(body: object, name: str | None) -> str | None:
    value = body.get(name) if isinstance(body, dict) and name is not None else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)
