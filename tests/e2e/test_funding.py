"""Funding a deal end to end: HTTP, a real worker, the sandbox's callbacks, Socket.IO."""

from __future__ import annotations

import requests

from tests.helpers import database, listen, open_deal, pay, register, wait_for_payment, wait_until
from tests.stack import Stack

GOOD_PHONE = "254708374149"
CANCELLING_PHONE = "254700000001"


def test_a_paid_deal_becomes_active_and_both_parties_hear_of_it(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=1500)
    buyer_ears, seller_ears = listen(stack, buyer.token or ""), listen(stack, seller.token or "")
    try:
        response = pay(buyer, deal["id"], "0708374149")
        assert response.status_code == 202, response.text
        payment = response.json()["data"]
        assert payment["status"] == "queued" and payment["phone"] == "2547****149"

        paid = wait_for_payment(buyer, payment["id"], "success")
        for ears in (buyer_ears, seller_ears):
            wait_until(lambda e=ears: e.seen(
                "payment:updated", lambda d: d["id"] == payment["id"] and d["status"] == "success",
            ), what="payment:updated")
            wait_until(lambda e=ears: e.seen(
                "transaction:updated", lambda d: d["id"] == deal["id"] and d["status"] == "active",
            ), what="transaction:updated")
    finally:
        buyer_ears.close()
        seller_ears.close()

    assert len(paid["reference"]) == 10 and paid["resultCode"] == "0"
    funded = buyer.data("GET", f"/api/transactions/{deal['id']}")
    assert funded["status"] == "active"
    assert funded["payment"]["reference"] == paid["reference"]
    assert funded["payment"]["status"] == "success"
    assert [e["event"] for e in funded["timeline"]] == ["created", "payment_requested", "funded"]
    ledger = seller.data("GET", f"/api/transactions/{deal['id']}/ledger")
    assert ledger["sum"] == 0
    assert ledger["balances"] == {f"escrow:{deal['id']}": 1500, "mpesa:clearing": -1500}


def test_a_cancelled_prompt_leaves_the_deal_pending_and_it_can_be_paid_again(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=700)

    first = pay(buyer, deal["id"], CANCELLING_PHONE).json()["data"]
    failed = wait_for_payment(buyer, first["id"], "failed")
    assert failed["resultCode"] == "1032" and failed["reference"] is None
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "pending"
    assert buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"] == []

    second = pay(buyer, deal["id"], GOOD_PHONE).json()["data"]
    wait_for_payment(buyer, second["id"], "success")
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "active"
    attempts = buyer.data("GET", f"/api/transactions/{deal['id']}/payments")
    assert [p["status"] for p in attempts] == ["failed", "success"]


def test_the_same_callback_delivered_again_credits_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=2500)
    payment = pay(buyer, deal["id"], GOOD_PHONE).json()["data"]
    paid = wait_for_payment(buyer, payment["id"], "success")
    before = buyer.data("GET", f"/api/transactions/{deal['id']}")

    deliveries = requests.get(f"{stack.sandbox}/sandbox/callbacks", timeout=5).json()["items"]
    original = next(d for d in deliveries if d["checkoutRequestId"] == paid["checkoutRequestId"])
    url = f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}"
    for _ in range(2):
        answer = requests.post(url, json=original["body"], timeout=5)
        assert answer.status_code == 200
        assert answer.json() == {"ResultCode": 0, "ResultDesc": "Accepted"}

    db = database(stack)
    wait_until(lambda: db.mpesa_callbacks.count_documents(
        {"raw": {"$regex": paid["checkoutRequestId"]}, "status": "received"}) == 0,
        what="the replayed callback to be processed")
    after = buyer.data("GET", f"/api/transactions/{deal['id']}")
    assert after["version"] == before["version"]
    assert [e["event"] for e in after["timeline"]].count("funded") == 1
    ledger = buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")
    assert len(ledger["postings"]) == 1 and ledger["balances"][f"escrow:{deal['id']}"] == 2500


def test_a_rate_limited_push_is_retried_and_sent_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=300)
    payment = pay(buyer, deal["id"], "254700000007").json()["data"]
    paid = wait_for_payment(buyer, payment["id"], "success", timeout=30)
    log = requests.get(f"{stack.sandbox}/sandbox/requests",
                       params={"path": "/mpesa/stkpush/v1/processrequest",
                               "phone": "254700000007"}, timeout=5).json()["items"]
    ours = [item for item in log if item["body"]["Amount"] == 300]  # only this test pays 300
    assert [item["status"] for item in ours][-1] == 200
    assert [item["checkoutRequestId"] for item in ours if item["status"] == 200] == [
        paid["checkoutRequestId"]]  # one push reached the phone, however many retries
