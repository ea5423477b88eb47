"""Rate limits on Redis (flask-limiter), shared by every API process."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from adapters.redis_store import client_options
from adapters.settings import Settings

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def auth_limit(view):  # type: ignore[no-untyped-def]
    """The stricter limit for sign-in style endpoints (argon2 makes each try expensive)."""
    return limiter.limit(lambda: _auth_limit_value())(view)


def _auth_limit_value() -> str:
    from flask import current_app

    return str(current_app.config["ESCROW_RATELIMIT_AUTH"])


def init(app: Flask, storage_uri: str, default: str, enabled: bool, auth: str) -> None:
    """Limits on Redis. Their Redis calls get half of REDIS_TIMEOUT_S (the settings of the
    container built for ``app``): a hung Redis then costs a request that much once, and the
    limits go on in memory (below) while it stays away."""
    escrow = app.extensions.get("escrow")
    settings = escrow.settings if escrow is not None else Settings()
    app.config.update(
        RATELIMIT_STORAGE_URI=storage_uri, RATELIMIT_DEFAULT=default,
        RATELIMIT_ENABLED=enabled, RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="escrow-rl", ESCROW_RATELIMIT_AUTH=auth,
        # Redis unreachable: the same limits (the auth one included) go on in this process's
        # memory, and Redis is tried again with backoff. No RATELIMIT_IN_MEMORY_FALLBACK list:
        # flask-limiter would apply it to every route instead, exempt ones included.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_STORAGE_OPTIONS=client_options(settings.redis_timeout_s / 2),
        RATELIMIT_SWALLOW_ERRORS=True,  # any other limiter failure must not fail the request
    )
    limiter.init_app(app)
