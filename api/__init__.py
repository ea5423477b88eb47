"""The HTTP API: ``create_app(settings)`` builds it; ``wsgi.py`` serves it."""

from __future__ import annotations

import uuid

import structlog
from flask import Flask, Response, g, request
from flask_cors import CORS
from werkzeug.middleware.proxy_fix import ProxyFix

from adapters.celery_factory import make_celery
from adapters.container import Container, build
from adapters.observability import configure_logging, init_sentry, secret_values
from adapters.queue import CeleryTaskQueue
from adapters.settings import Settings
from api import (
    admin,
    audit,
    auth,
    callbacks,
    cli,
    deals,
    demo,
    docs,
    errors,
    health,
    lifecycle,
    limits,
    metrics,
    notifications,
    openapi,
    payments,
    realtime,
    tokens,
    wallet,
)

API_TITLE = "Escrow payments API"
# helmet's defaults, made for an API whose only pages are its docs (assets served by itself):
# Swagger UI and ReDoc style their elements inline, ReDoc draws data: images and runs its
# search in a blob: worker. Nothing may frame us, and nothing of ours leaves the origin.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "base-uri 'self'", "font-src 'self' data:", "form-action 'self'",
    "frame-ancestors 'none'", "img-src 'self' data:", "object-src 'none'", "script-src 'self'",
    "script-src-attr 'none'", "style-src 'self' 'unsafe-inline'", "worker-src 'self' blob:",
))
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Origin-Agent-Cluster": "?1",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "X-DNS-Prefetch-Control": "off",
    "X-Download-Options": "noopen",
    "X-Permitted-Cross-Domain-Policies": "none",
    "X-XSS-Protection": "0",
    "Cache-Control": "no-store",
}
# Production only: there the API is behind TLS, and browsers must keep to it for 180 days
# (and fetch nothing over plain HTTP; on a developer's http://127.0.0.1 that would break the docs).
PRODUCTION_HEADERS = {
    "Strict-Transport-Security": "max-age=15552000; includeSubDomains",
    "Content-Security-Policy": f"{CONTENT_SECURITY_POLICY}; upgrade-insecure-requests",
}


def security_headers(settings: Settings) -> dict[str, str]:
    """What every response carries (errors and 404s included)."""
    return {**SECURITY_HEADERS, **(PRODUCTION_HEADERS if settings.is_production else {})}


def create_app(settings: Settings | None = None, container: Container | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, secret_values(settings))
    from sentry_sdk.integrations.flask import FlaskIntegration

    init_sentry(settings, FlaskIntegration())
    app = Flask(__name__)
    app.config.update(_flask_config(settings))
    app.json.sort_keys = False  # type: ignore[attr-defined]
    queue = CeleryTaskQueue(make_celery(settings))
    app.extensions["escrow"] = container or build(settings, queue)
    app.extensions["escrow_queue"] = queue
    _request_ids(app, security_headers(settings))
    metrics.init(app)  # served on METRICS_PORT by gunicorn.conf.py, never on this port
    CORS(app, resources={r"/api/*": {"origins": list(settings.cors_origins)}})
    limits.init(app, settings.redis_url, settings.ratelimit_default, settings.ratelimit_enabled,
                settings.ratelimit_auth)
    tokens.init(app)
    api = errors.EnvelopeApi(app)
    for blueprint in (auth.blp, deals.blp, lifecycle.blp, payments.blp, wallet.blp,
                      notifications.blp, admin.blp, health.blp):
        api.register_blueprint(blueprint)
    app.register_blueprint(callbacks.blp)
    openapi.document_callbacks(api.spec, app, callbacks.blp.name)
    openapi.document_docs(api.spec, app)
    app.register_blueprint(docs.blp)
    if not settings.is_production:  # /demo: development and test only; an unknown path here
        app.register_blueprint(demo.blp)
    errors.register(app)
    audit.init(app)  # after the request ids: every record carries one
    cli.register(app)
    app.extensions["escrow_socketio"] = realtime.init(app, settings)
    _trust_proxies(app, settings.trusted_proxy_hops)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Behind ``hops`` proxies, the client is the ``hops``-th address from the right of
    X-Forwarded-For (each proxy appends the address it saw; whatever the client sent is further
    left and ignored). With 0, X-Forwarded-For is ignored and the socket's address is used.
    The callback allow-list and every rate limit read ``request.remote_addr``. Outermost, so
    that Socket.IO's requests see the same address."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops)  # type: ignore[method-assign]


def _flask_config(settings: Settings) -> dict[str, object]:
    return {
        "API_TITLE": API_TITLE, "API_VERSION": "1.0", "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api", "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "/docs", "OPENAPI_SWAGGER_UI_URL": docs.SWAGGER_UI_URL,
        "OPENAPI_REDOC_PATH": "/redoc", "OPENAPI_REDOC_URL": docs.REDOC_URL,
        "API_SPEC_OPTIONS": {"components": {"securitySchemes": openapi.SECURITY_SCHEMES},
                             "security": [{openapi.BEARER: []}]},
        "JWT_SECRET_KEY": settings.jwt_secret_key,
        "JWT_ACCESS_TOKEN_EXPIRES": settings.access_token_minutes * 60,
        "JWT_REFRESH_TOKEN_EXPIRES": settings.refresh_token_days * 86400,
        "JWT_TOKEN_LOCATION": ["headers"],
        "MAX_CONTENT_LENGTH": 1024 * 1024,
    }


def _request_ids(app: Flask, headers: dict[str, str]) -> None:
    @app.before_request
    def _start() -> None:
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if given.isprintable() and 0 < len(given) <= 64 else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=g.request_id)

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
