"""JWTs: issuing, rotating and revoking them (flask-jwt-extended, revocations in Redis)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token

from api.deps import container
from api.envelope import error
from domain.errors import Unauthorized
from domain.users import User

jwt = JWTManager()


def issue(user: User) -> dict[str, str]:
    claims = {"email": user.email, "role": user.role.value}
    return {
        "accessToken": create_access_token(identity=user.id, additional_claims=claims),
        "refreshToken": create_refresh_token(identity=user.id, additional_claims=claims),
    }


def revoke(payload: dict[str, Any]) -> bool:
    """Revoke a decoded token until it would expire; False if it already was."""
    ttl = int(payload["exp"] - datetime.now(UTC).timestamp())
    return container().revocations.revoke(str(payload["jti"]), ttl)


def revoke_encoded(token: str, user_id: str) -> None:
    """Revoke a refresh token handed over at logout, if it is the caller's and still valid."""
    try:
        payload = decode_token(token)
    except Exception:  # an already expired or foreign token has nothing left to revoke
        return
    if payload.get("sub") == user_id:
        revoke(payload)


def rotate(old: dict[str, Any], user: User) -> dict[str, str]:
    """Use a refresh token once: the first caller gets new tokens, any replay is refused."""
    if not revoke(old):
        raise Unauthorized("this refresh token was already used")
    return issue(user)


def init(app: Flask) -> None:
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        return container().revocations.is_revoked(str(payload["jti"]))

    def _unauthorized(message: str) -> ResponseReturnValue:
        return error(401, "UNAUTHORIZED", message)

    jwt.unauthorized_loader(lambda reason: _unauthorized("a Bearer token is required"))
    jwt.invalid_token_loader(lambda reason: _unauthorized("the token is invalid"))
    jwt.expired_token_loader(lambda h, p: _unauthorized("the token has expired"))
    jwt.revoked_token_loader(lambda h, p: _unauthorized("the token has been revoked"))
    jwt.needs_fresh_token_loader(lambda h, p: _unauthorized("a fresh token is required"))
    jwt.user_lookup_error_loader(lambda h, p: _unauthorized("the account no longer exists"))
