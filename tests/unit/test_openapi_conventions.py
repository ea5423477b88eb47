"""The conventions api/openapi.py applies to every operation, on views made up here."""

from __future__ import annotations

from typing import Any

from flask_jwt_extended import jwt_required

from api.openapi import BEARER, REFRESH, auth_of, statuses


def _view(*_: Any) -> None:
    return None


def test_the_security_is_read_from_the_views_own_jwt_required() -> None:
    assert auth_of(jwt_required()(_view)) == BEARER
    assert auth_of(jwt_required(refresh=True)(_view)) == REFRESH
    assert auth_of(jwt_required(optional=True)(_view)) is None
    assert auth_of(_view) is None


def test_jwt_required_is_found_under_other_decorators() -> None:
    def outer(fn: Any) -> Any:
        from functools import wraps

        @wraps(fn)
        def wrapped(*args: Any) -> Any:
            return fn(*args)
        return wrapped

    assert auth_of(outer(jwt_required(refresh=True)(_view))) == REFRESH


def test_a_signed_in_write_with_a_body_lists_every_error_it_can_answer() -> None:
    operation = {"requestBody": {}, "parameters": [{"in": "header", "name": "Idempotency-Key"}]}
    assert statuses("post", operation, BEARER, True) == [
        400, 401, 403, 404, 409, 413, 422, 429, 500, 503]


def test_a_public_read_without_inputs_lists_only_what_any_request_can_meet() -> None:
    assert statuses("get", {}, None, False) == [429, 500, 503]
