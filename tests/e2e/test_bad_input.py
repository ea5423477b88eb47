"""Bad input gets a clear 4xx in the envelope, names the field, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.helpers import Api, counts, open_deal, refused, register
from tests.stack import Stack


@pytest.fixture
def parties(stack: Stack) -> tuple[Api, Api, dict[str, Any]]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    return seller, buyer, open_deal(buyer, seller)


def _deal_body(seller: Api, **changes: Any) -> dict[str, Any]:
    return {"title": "Phone", "description": "Used", "amount": 100,
            "sellerEmail": seller.user["email"], **changes}


def test_a_malformed_json_body_is_400(parties: Any, unchanged: None) -> None:
    _, buyer, _ = parties
    response = buyer.call("POST", "/api/transactions", data=b'{"title": "x",',
                          headers={"Content-Type": "application/json"})
    refused(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("amount", [10.5, 100.0, -5, 0, 250_001, "100", True, None])
def test_an_amount_that_is_not_whole_shillings_in_range_is_422(
    parties: Any, unchanged: None, amount: Any,
) -> None:
    seller, buyer, _ = parties
    details = refused(buyer.post("/api/transactions", _deal_body(seller, amount=amount)),
                     422, "VALIDATION_ERROR")
    assert "amount" in details


def test_an_unknown_field_is_422(parties: Any, unchanged: None) -> None:
    seller, buyer, _ = parties
    details = refused(buyer.post("/api/transactions", _deal_body(seller, status="active")),
                     422, "VALIDATION_ERROR")
    assert "status" in details


@pytest.mark.parametrize("body", [
    {"$where": "1"},
    {"title": {"$gt": ""}},
    {"terms": {"nested": {"$ne": None}}},
])
def test_operator_keys_never_reach_the_database(parties: Any, unchanged: None,
                                                body: dict[str, Any]) -> None:
    seller, buyer, _ = parties
    details = refused(buyer.post("/api/transactions", {**_deal_body(seller), **body}),
                     422, "VALIDATION_ERROR")
    assert details


def test_paying_without_an_idempotency_key_is_400(parties: Any, unchanged: None) -> None:
    _, buyer, deal = parties
    response = buyer.post(f"/api/transactions/{deal['id']}/pay", {"phone": "0708374149"})
    assert "Idempotency-Key" in refused(response, 400, "BAD_REQUEST")


@pytest.mark.parametrize("phone", ["12345", "0208374149", "+14155552671", "07083741490", ""])
def test_an_invalid_phone_is_422(parties: Any, unchanged: None, phone: str) -> None:
    _, buyer, deal = parties
    response = buyer.post(f"/api/transactions/{deal['id']}/pay", {"phone": phone},
                          headers={"Idempotency-Key": "bad-phone"})
    assert "phone" in refused(response, 422, "VALIDATION_ERROR")


def test_a_wrong_callback_token_is_404(stack: Stack) -> None:
    before = counts(stack)
    body = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0}}}
    response = requests.post(f"{stack.api}/api/mpesa/stk/callback/not-the-token", json=body,
                             timeout=5)
    refused(response, 404, "NOT_FOUND")
    # The refusal is recorded (tests/e2e/test_audit.py); nothing else is written.
    assert counts(stack) == {**before, "audit": before["audit"] + 1}


def test_a_callback_that_is_not_json_is_400(stack: Stack, unchanged: None) -> None:
    response = requests.post(f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}",
                             data=b"<xml/>", timeout=5)
    refused(response, 400, "BAD_REQUEST")


def test_an_oversized_body_is_413(parties: Any, unchanged: None) -> None:
    seller, buyer, _ = parties
    huge = _deal_body(seller, description="x" * (2 * 1024 * 1024))
    assert buyer.post("/api/transactions", huge).status_code == 413


def test_bad_list_filters_are_422(parties: Any, unchanged: None) -> None:
    _, buyer, _ = parties
    for query in ("status=funded", "page=0", "limit=1000", "role=admin"):
        refused(buyer.get(f"/api/transactions?{query}"), 422, "VALIDATION_ERROR")
