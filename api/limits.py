"""Rate limits on Redis (flask-limiter), shared by every API process."""

from __future__ import annotations

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(key_func=get_remote_address, headers_enabled=True)


def auth_limit(view):  # type: ignore[no-untyped-def]
    """The stricter limit for sign-in style endpoints (argon2 makes each try expensive)."""
    return limiter.limit(lambda: _auth_limit_value())(view)


def _auth_limit_value() -> str:
    from flask import current_app

    return str(current_app.config["ESCROW_RATELIMIT_AUTH"])


def init(app: Flask, storage_uri: str, default: str, enabled: bool, auth: str) -> None:
    app.config.update(
        RATELIMIT_STORAGE_URI=storage_uri, RATELIMIT_DEFAULT=default,
        RATELIMIT_ENABLED=enabled, RATELIMIT_HEADERS_ENABLED=True,
        RATELIMIT_KEY_PREFIX="escrow-rl", ESCROW_RATELIMIT_AUTH=auth,
        RATELIMIT_SWALLOW_ERRORS=True,  # a Redis outage must not take every request down
    )
    limiter.init_app(app)
