"""What an attacker tries: query operators in filters and bodies, a huge body. Each is a 4xx in
the envelope that names the field, and nothing is written. (A callback with a wrong path token is
refused and audited: tests/e2e/test_audit.py.) A forged or misused token is a 401, recorded."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest
import requests

from tests.helpers import Api, database, make_admin, open_deal, refused, register, wait_until
from tests.stack import Stack


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, Any]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    return {"seller": seller, "buyer": buyer, "admin": make_admin(stack),
            "deal": open_deal(buyer, seller)}


@pytest.mark.parametrize(("who", "path", "field"), [
    ("buyer", "/api/transactions?status[$ne]=x", "status[$ne]"),
    ("buyer", "/api/transactions?role[$in]=buyer", "role[$in]"),
    ("buyer", "/api/notifications?unread[$ne]=true", "unread[$ne]"),
    ("buyer", "/api/transactions?$where=1", "$where"),
])
def test_an_operator_in_a_query_parameter_is_422_naming_it(
    people: dict[str, Any], unchanged: None, who: str, path: str, field: str,
) -> None:
    details = refused(people[who].get(path), 422, "VALIDATION_ERROR")
    assert field in details, details


def test_an_operator_in_an_admins_filter_is_422_naming_it(
    people: dict[str, Any],
) -> None:
    admin: Api = people["admin"]
    for path, field in (("/api/admin/audit?actor[$ne]=x", "actor[$ne]"),
                        ("/api/admin/callbacks?status[$regex]=.", "status[$regex]")):
        details = refused(admin.get(path), 422, "VALIDATION_ERROR")
        assert field in details, details


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/transactions", {"title": "t", "description": "d", "amount": 100,
                           "sellerId": {"$gt": ""}}, "sellerId"),
    ("/api/transactions", {"title": "t", "description": "d", "amount": 100,
                           "sellerEmail": {"$ne": None}}, "sellerEmail"),
    ("/api/auth/login", {"email": {"$gt": ""}, "password": {"$gt": ""}}, "email"),
])
def test_an_operator_in_a_json_body_is_422_naming_the_field(
    people: dict[str, Any], unchanged: None, path: str, body: dict[str, Any], field: str,
) -> None:
    details = refused(people["buyer"].post(path, body), 422, "VALIDATION_ERROR")
    assert any(key == field or key.startswith(f"{field}.") for key in details), details


def test_an_operator_as_a_path_id_finds_nothing(people: dict[str, Any], unchanged: None) -> None:
    buyer: Api = people["buyer"]
    for raw in ('{"$gt":""}', "[$ne]", "$where"):
        quoted = requests.utils.quote(raw, safe="")
        refused(buyer.get(f"/api/transactions/{quoted}"), 404, "NOT_FOUND")
        refused(buyer.get(f"/api/payments/{quoted}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("path", ["/api/transactions", "/api/auth/register"])
def test_a_ten_megabyte_body_is_413_in_the_envelope_and_writes_nothing(
    people: dict[str, Any], unchanged: None, path: str,
) -> None:
    huge = json.dumps({"title": "t", "description": "x" * (10 * 1024 * 1024), "amount": 100,
                       "sellerEmail": people["seller"].user["email"]})
    answer = people["buyer"].call("POST", path, data=huge,
                                  headers={"Content-Type": "application/json"})
    refused(answer, 413, "PAYLOAD_TOO_LARGE")


def _forged(claims: dict[str, Any], key: str | None) -> str:
    """A token with ``claims``: signed with a key that is not ours, or ``alg: none``."""
    if key is not None:
        return jwt.encode(claims, key, algorithm="HS256")
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_forged_or_misused_token_is_401_and_recorded(stack: Stack,
                                                       people: dict[str, Any]) -> None:
    buyer, admin = people["buyer"], people["admin"]
    now = int(time.time())
    claims = {"sub": buyer.user["id"], "role": "admin", "email": buyer.user["email"],
              "type": "access", "jti": uuid.uuid4().hex, "iat": now, "nbf": now,
              "exp": now + 600, "fresh": False}
    attempts = {
        "another key": ("GET", "/api/admin/audit", _forged(claims, "not-the-secret-" * 4)),
        "alg none": ("GET", "/api/admin/callbacks", _forged(claims, None)),
        "refresh as access": ("GET", "/api/users/me", buyer.refresh),
        "access as refresh": ("POST", "/api/auth/refresh", buyer.token),
        "not a token": ("GET", "/api/wallet", "abc.def.ghi"),
    }
    for what, (method, path, token) in attempts.items():
        rid = f"forged-{uuid.uuid4().hex[:10]}"
        answer = requests.request(method, stack.api + path, timeout=10, headers={
            "Authorization": f"Bearer {token}", "X-Request-ID": rid})
        refused(answer, 401, "UNAUTHORIZED")
        record = wait_until(lambda rid=rid: database(stack).audit.find_one({"requestId": rid}),
                            what=f"the record of {what}")
        assert (record["actorRole"], record["actorId"], record["outcome"]) == (
            "anonymous", None, "refused"), what
    assert admin.data("GET", "/api/admin/audit?limit=1")["total"] >= len(attempts)
