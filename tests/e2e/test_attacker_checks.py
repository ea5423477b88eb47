"""What an attacker tries: query operators in filters and bodies, a huge body. Each is a 4xx in
the envelope that names the field, and nothing is written. (A callback with a wrong path token is
refused and audited: tests/e2e/test_audit.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import Api, database, make_admin, open_deal, register
from tests.stack import Stack

COLLECTIONS = ("users", "deals", "deal_events", "payments", "payouts", "postings",
               "notifications", "mpesa_callbacks", "audit")


@pytest.fixture(scope="module")
def people(stack: Stack) -> dict[str, Any]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    return {"seller": seller, "buyer": buyer, "admin": make_admin(stack),
            "deal": open_deal(buyer, seller)}


@pytest.fixture
def unchanged(stack: Stack) -> Iterator[None]:
    db = database(stack)
    before = {name: db[name].count_documents({}) for name in COLLECTIONS}
    yield
    assert {name: db[name].count_documents({}) for name in COLLECTIONS} == before


def _refused(answer: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["success"] is False and body["error"]["code"] == code, body
    return body["error"]["details"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(("who", "path", "field"), [
    ("buyer", "/api/transactions?status[$ne]=x", "status[$ne]"),
    ("buyer", "/api/transactions?role[$in]=buyer", "role[$in]"),
    ("buyer", "/api/notifications?unread[$ne]=true", "unread[$ne]"),
    ("buyer", "/api/transactions?$where=1", "$where"),
])
def test_an_operator_in_a_query_parameter_is_422_naming_it(
    people: dict[str, Any], unchanged: None, who: str, path: str, field: str,
) -> None:
    details = _refused(people[who].get(path), 422, "VALIDATION_ERROR")
    assert field in details, details


def test_an_operator_in_an_admins_filter_is_422_naming_it(
    people: dict[str, Any],
) -> None:
    admin: Api = people["admin"]
    for path, field in (("/api/admin/audit?actor[$ne]=x", "actor[$ne]"),
                        ("/api/admin/callbacks?status[$regex]=.", "status[$regex]")):
        details = _refused(admin.get(path), 422, "VALIDATION_ERROR")
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
    details = _refused(people["buyer"].post(path, body), 422, "VALIDATION_ERROR")
    assert any(key == field or key.startswith(f"{field}.") for key in details), details


def test_an_operator_as_a_path_id_finds_nothing(people: dict[str, Any], unchanged: None) -> None:
    buyer: Api = people["buyer"]
    for raw in ('{"$gt":""}', "[$ne]", "$where"):
        quoted = requests.utils.quote(raw, safe="")
        _refused(buyer.get(f"/api/transactions/{quoted}"), 404, "NOT_FOUND")
        _refused(buyer.get(f"/api/payments/{quoted}"), 404, "NOT_FOUND")


@pytest.mark.parametrize("path", ["/api/transactions", "/api/auth/register"])
def test_a_ten_megabyte_body_is_413_in_the_envelope_and_writes_nothing(
    people: dict[str, Any], unchanged: None, path: str,
) -> None:
    huge = json.dumps({"title": "t", "description": "x" * (10 * 1024 * 1024), "amount": 100,
                       "sellerEmail": people["seller"].user["email"]})
    answer = people["buyer"].call("POST", path, data=huge,
                                  headers={"Content-Type": "application/json"})
    _refused(answer, 413, "PAYLOAD_TOO_LARGE")
