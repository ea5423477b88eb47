"""M-Pesa as it really behaves: callbacks lost, late, tripled, forged; the janitor settles doubt."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.helpers import (
    database,
    make_admin,
    open_deal,
    pay,
    register,
    run_task,
    wait_for_payment,
    wait_until,
)
from tests.stack import Stack


def _payment_in(buyer: Any, payment_id: str, status: str) -> Any:
    found = buyer.data("GET", f"/api/payments/{payment_id}")
    return found if found["status"] == status else None


def _reconcile_until(stack: Stack, done: Any, what: str, step: timedelta = timedelta()) -> Any:
    """Run janitor rounds (as beat would) until ``done()``; each round ``step`` later."""
    as_of = datetime.now(UTC)

    def probe() -> Any:
        nonlocal as_of
        as_of = max(datetime.now(UTC), as_of + step)  # time moves forward; nobody sleeps
        run_task(stack, "payments.reconcile", now=as_of.isoformat())
        return done()

    return wait_until(probe, timeout=40, every=0.5, what=what)


def test_a_lost_callback_is_settled_by_the_janitors_query(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=1100)
    payment = pay(buyer, deal["id"], "254700000005").json()["data"]
    wait_for_payment(buyer, payment["id"], "pending")
    paid = _reconcile_until(stack, lambda: _payment_in(buyer, payment["id"], "success"),
                            "the STK Query to settle it")
    assert paid["reference"] is None  # STK Query proves the outcome but carries no receipt
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "active"
    ledger = buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")
    assert ledger["balances"][f"escrow:{deal['id']}"] == 1100


def test_a_callback_sent_three_times_credits_once_and_tells_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=600)
    payment = pay(buyer, deal["id"], "254700000006").json()["data"]
    paid = wait_for_payment(buyer, payment["id"], "success")
    db = database(stack)
    wait_until(lambda: db.mpesa_callbacks.find_one(
        {"raw": {"$regex": paid["checkoutRequestId"]}, "repeats": 2}), what="three deliveries")
    wait_until(lambda: db.mpesa_callbacks.count_documents(
        {"raw": {"$regex": paid["checkoutRequestId"]}, "status": "received"}) == 0,
        what="the deliveries to be processed")
    timeline = buyer.data("GET", f"/api/transactions/{deal['id']}")["timeline"]
    assert [e["event"] for e in timeline].count("funded") == 1
    assert len(buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"]) == 1
    kinds = [n["kind"] for n in seller.data("GET", "/api/notifications")["items"]]
    assert kinds.count("deal_funded") == 1


def test_a_prompt_nobody_answers_is_closed_as_unresolved_after_the_schedule(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=900)
    payment = pay(buyer, deal["id"], "254700000005").json()["data"]
    wait_for_payment(buyer, payment["id"], "pending")
    db = database(stack)
    # Make Daraja forget it, as if M-Pesa never answers: every query is "not found" → pending.
    db.payments.update_one({"_id": payment["id"]},
                           {"$set": {"checkoutRequestId": "ws_CO_" + uuid.uuid4().hex}})
    failed = _reconcile_until(stack, lambda: _payment_in(buyer, payment["id"], "failed"),
                              "the schedule to run out", step=timedelta(minutes=5))
    assert failed["resultCode"] == "UNRESOLVED"
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "pending"
    assert "payment_failed" in [n["kind"] for n in buyer.data("GET", "/api/notifications")["items"]]


def test_forged_callbacks_move_no_money_and_an_admin_sees_them(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = open_deal(buyer, seller, amount=5000)
    payment = pay(buyer, deal["id"], "254700000005").json()["data"]  # its callback never comes
    pending = wait_for_payment(buyer, payment["id"], "pending")
    url = f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}"

    def forged(checkout: str, amount: str) -> dict[str, Any]:
        items = [{"Name": "Amount", "Value": amount}, {"Name": "MpesaReceiptNumber",
                 "Value": "SKE" + uuid.uuid4().hex[:7].upper()},
                 {"Name": "TransactionDate", "Value": 20261124103000},
                 {"Name": "PhoneNumber", "Value": 254700000005}]
        return {"Body": {"stkCallback": {"MerchantRequestID": "m", "CheckoutRequestID": checkout,
                "ResultCode": 0, "ResultDesc": "ok", "CallbackMetadata": {"Item": items}}}}

    unknown_id = "ws_CO_" + uuid.uuid4().hex
    forged_ids = {unknown_id, pending["checkoutRequestId"]}
    for body in (forged(unknown_id, "5000.00"), forged(pending["checkoutRequestId"], "1.00")):
        assert requests.post(url, json=body, timeout=5).status_code == 200

    def flagged() -> list[Any]:
        items = admin.data("GET", "/api/admin/callbacks?limit=100")["items"]
        def checkout(d: dict[str, Any]) -> str:  # other tests' flagged bodies may be malformed
            body = d["body"] if isinstance(d["body"], dict) else {}
            return str(body.get("Body", {}).get("stkCallback", {}).get("CheckoutRequestID"))

        return [d for d in items if d["kind"] == "stk" and checkout(d) in forged_ids
                and d["outcome"] in ("mismatch", "unknown_payment")]

    found = wait_until(lambda: len(flagged()) == 2 and flagged(), timeout=30,
                       what="both forgeries to be flagged")
    assert sorted(d["outcome"] for d in found) == ["mismatch", "unknown_payment"]
    assert buyer.data("GET", f"/api/payments/{payment['id']}")["status"] == "pending"
    assert buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"] == []
    assert buyer.get("/api/admin/callbacks").status_code == 403
