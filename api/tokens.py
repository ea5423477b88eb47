"""JWTs: issuing, rotating and revoking them (flask-jwt-extended, revocations in Redis).

Every token carries ``fam``, the family: one per login (or registration, or password change),
kept by every rotation. A refresh token is used once; presenting it again revokes its whole
family. ``sgen`` is the person's session generation when the token was issued: "log out
everywhere" and a password change move it on, which ends every token of an older one
(adapters/redis_store.py, Revocations; a counter, so no host's clock enters into it).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token, decode_token

from api.deps import container
from api.envelope import error
from domain.errors import Unauthorized
from domain.users import User

jwt = JWTManager()


def generation(payload: dict[str, Any]) -> int:
    """The session generation a token was issued in (0: before generations existed)."""
    value = payload.get("sgen", 0)
    return value if isinstance(value, int) else 0


def issue(user: User, family: str | None = None, fresh: bool = False) -> dict[str, str]:
    """A pair of tokens; a new family unless ``family`` (a rotation) is given. Only a sign-in
    with the password gives a fresh access token."""
    claims = {"email": user.email, "role": user.role.value,
              "fam": family or uuid.uuid4().hex,
              "sgen": container().revocations.session_generation(user.id)}
    lifetime = timedelta(seconds=container().settings.access_token_s)
    return {
        "accessToken": create_access_token(identity=user.id, additional_claims=claims,
                                           fresh=fresh, expires_delta=lifetime),
        "refreshToken": create_refresh_token(identity=user.id, additional_claims=claims),
    }


def revoke(payload: dict[str, Any]) -> bool:
    """Revoke a decoded token until it would expire; False if it already was."""
    ttl = int(payload["exp"] - time.time())
    return container().revocations.revoke(str(payload["jti"]), ttl)


def revoke_family(payload: dict[str, Any]) -> None:
    """Every token of the presented token's family (tokens from before families: just it)."""
    if payload.get("fam"):
        revocations = container().revocations
        revocations.revoke_family(str(payload["fam"]), container().settings.refresh_token_s)


def revoke_sessions(user_id: str) -> None:
    """Every token of ``user_id`` issued until now: logout everywhere, a password change."""
    container().revocations.revoke_sessions(user_id)


def revoke_encoded(token: str, user_id: str) -> None:
    """Revoke a refresh token handed over at logout, if it is the caller's and still valid."""
    try:
        payload = decode_token(token)
    except Exception:  # an already expired or foreign token has nothing left to revoke
        return
    if payload.get("sub") == user_id:
        revoke(payload)
        revoke_family(payload)


def rotate(old: dict[str, Any], user: User) -> dict[str, str]:
    """Use a refresh token once: the first caller gets new tokens of the same family; a
    replay (the token was already used) revokes the family, successors included."""
    if not revoke(old):
        revoke_family(old)
        raise Unauthorized("this refresh token was already used")
    return issue(user, family=old.get("fam"))


def is_blocked(payload: dict[str, Any]) -> bool:
    """A refresh token's own ``jti`` is checked by ``rotate`` (one winner), so that a replay
    reaches it and revokes the family; everything else is checked here."""
    jti = None if payload.get("type") == "refresh" else str(payload["jti"])
    return container().revocations.is_blocked(jti, payload.get("fam"), str(payload["sub"]),
                                              generation(payload))


def init(app: Flask) -> None:
    jwt.init_app(app)

    @jwt.token_in_blocklist_loader
    def _revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
        return is_blocked(payload)

    def _unauthorized(message: str) -> ResponseReturnValue:
        return error(401, "UNAUTHORIZED", message)

    jwt.unauthorized_loader(lambda reason: _unauthorized("a Bearer token is required"))
    jwt.invalid_token_loader(lambda reason: _unauthorized("the token is invalid"))
    jwt.expired_token_loader(lambda h, p: _unauthorized("the token has expired"))
    jwt.revoked_token_loader(lambda h, p: _unauthorized("the token has been revoked"))
    jwt.needs_fresh_token_loader(lambda h, p: _unauthorized("a fresh token is required"))
    jwt.user_lookup_error_loader(lambda h, p: _unauthorized("the account no longer exists"))
