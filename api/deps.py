"""What a view may reach: the process's container, the signed-in user, request helpers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app, request
from flask_jwt_extended import get_jwt, get_jwt_identity

from adapters.container import Container
from adapters.queue import CeleryTaskQueue
from adapters.redis_store import LoginAttempts
from domain.errors import DomainError, Unauthorized
from domain.services import accounts
from domain.services.accounts import Proof
from domain.services.context import Context
from domain.users import User

MAX_IDEMPOTENCY_KEY = 255


def container() -> Container:
    return current_app.extensions["escrow"]  # type: ignore[no-any-return]


def broker() -> CeleryTaskQueue:
    return current_app.extensions["escrow_queue"]  # type: ignore[no-any-return]


def ctx() -> Context:
    return container().ctx


def login_attempts() -> LoginAttempts:
    return container().login_attempts


def proof(body: dict[str, Any]) -> Proof:
    """The request's proof of identity: a fresh access token (from a sign-in with the
    password) or the ``password`` field of its body."""
    return Proof(fresh=get_jwt().get("fresh") is True, password=body.get("password"))


def without_password(body: dict[str, Any]) -> dict[str, Any]:
    """The body as it may be stored or fingerprinted: never the password."""
    return {key: value for key, value in body.items() if key != "password"}


def current_user() -> User:
    """Who signed this request: from the identity cache (no password hash on it)."""
    user = container().users.identity(str(get_jwt_identity()))
    if user is None:
        raise Unauthorized("the account no longer exists")
    return user


def fresh_user() -> User:
    """The signed-in user read from MongoDB, for issuing tokens from what the record says now."""
    return accounts.current_user(ctx(), str(get_jwt_identity()))


class MissingIdempotencyKey(DomainError):
    code = "BAD_REQUEST"


def idempotency_key() -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise MissingIdempotencyKey(
            "an Idempotency-Key header (1-255 printable characters) is required",
            {"Idempotency-Key": ["missing or invalid"]},
        )
    return key


def request_fingerprint(body: dict[str, Any]) -> str:
    """Same key + same request → same fingerprint; the path counts as part of the request."""
    canonical = json.dumps({"path": request.path, "body": body}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
