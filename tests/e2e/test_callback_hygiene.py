"""Callbacks behind a load balancer, over HTTP: who may send them, and a refused body resent.

The stack trusts one proxy hop (``TRUSTED_PROXY_HOPS=1``), as behind a load balancer that
appends the address it saw to X-Forwarded-For; the test plays that balancer. Safaricom is
``196.201.214.0/24``; the sandbox posts its own callbacks from 127.0.0.1 with no header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import database, open_deal, pay, register, wait_for_payment, wait_until
from tests.stack import Stack, start_stack

SAFARICOM = "196.201.214.200"
ATTACKER = "203.0.113.9"
NO_CALLBACK = "254700000005"  # the sandbox's phone that pays but never calls back


@pytest.fixture(scope="module")
def proxied() -> Iterator[Stack]:
    running = start_stack(TRUSTED_PROXY_HOPS="1",
                          MPESA_CALLBACK_ALLOWED_IPS="127.0.0.1,196.201.214.0/24")
    try:
        yield running
    finally:
        running.close()


def _post(stack: Stack, body: Any, forwarded_for: str) -> requests.Response:
    return requests.post(f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}",
                         json=body, headers={"X-Forwarded-For": forwarded_for}, timeout=10)


def test_a_forged_leftmost_forwarded_address_does_not_pass_the_allow_list(
    proxied: Stack,
) -> None:
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "ResultCode": 1032,
                                     "CheckoutRequestID": f"ws_CO_{uuid.uuid4().hex[:16]}",
                                     "ResultDesc": "Request cancelled by user"}}}
    refused = _post(proxied, body, f"{SAFARICOM}, {ATTACKER}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    kept = database(proxied).mpesa_callbacks.find_one(
        {"raw": {"$regex": body["Body"]["stkCallback"]["CheckoutRequestID"]}})
    assert kept["sourceIp"] == ATTACKER and kept["processed"]["outcome"] == "source_not_allowed"


def test_a_callback_refused_for_its_source_then_sent_by_safaricom_pays_the_deal(
    proxied: Stack,
) -> None:
    seller, buyer = register(proxied, "seller"), register(proxied, "buyer")
    deal = open_deal(buyer, seller, amount=700)
    payment = pay(buyer, deal["id"], NO_CALLBACK).json()["data"]
    pending = wait_for_payment(buyer, payment["id"], "pending")
    assert pending["checkoutRequestId"]
    body = {"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": pending["checkoutRequestId"],
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": 700.0},
            {"Name": "MpesaReceiptNumber", "Value": "TKR7QX12AB"},
            {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20261124103000},
            {"Name": "PhoneNumber", "Value": int(NO_CALLBACK)}]}}}}

    assert _post(proxied, body, ATTACKER).status_code == 403  # from the wrong place: kept only
    db = database(proxied)
    flagged = wait_until(lambda: db.mpesa_callbacks.find_one(
        {"raw": {"$regex": pending["checkoutRequestId"]}}), what="the refused copy")
    assert flagged["status"] == "flagged"
    assert buyer.data("GET", f"/api/payments/{payment['id']}")["status"] == "pending"

    assert _post(proxied, body, SAFARICOM).status_code == 200  # the same bytes, from Safaricom
    paid = wait_for_payment(buyer, payment["id"], "success", timeout=30)
    assert paid["reference"] == "TKR7QX12AB"
    stored = db.mpesa_callbacks.find_one({"_id": flagged["_id"]})
    assert stored["sourceIp"] == SAFARICOM and stored["refused"]["sourceIp"] == ATTACKER
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "active"
