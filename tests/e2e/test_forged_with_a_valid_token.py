"""An attacker who knows the callback token and every id (the buyer sees the CheckoutRequestID)
still moves no money: each claim is checked with M-Pesa, and the genuine outcome settles."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.helpers import (
    Api,
    balance,
    database,
    funded_deal,
    make_admin,
    open_deal,
    pay,
    register,
    run_task,
    wait_for_payment,
    wait_until,
)
from tests.stack import Stack

CANCELLING_PHONE = "254700000001"
RESULT_NEVER_SENT_PHONE = "254700000005"


def _post(stack: Stack, path: str, body: dict[str, Any]) -> None:
    url = f"{stack.api}/api/mpesa/{path}/{stack.callback_token}"
    assert requests.post(url, json=body, timeout=5).status_code == 200


def _flagged(admin: Api, marker: str, outcome: str) -> Any:
    items = admin.data("GET", "/api/admin/callbacks?status=flagged&limit=100")["items"]
    found = [d for d in items if marker in str(d["body"]) and d["outcome"] == outcome]
    return found[0] if found else None


def _stk_success(checkout_id: str, amount: int, phone: str, receipt: str) -> dict[str, Any]:
    items = [{"Name": "Amount", "Value": amount}, {"Name": "MpesaReceiptNumber", "Value": receipt},
             {"Name": "TransactionDate", "Value": 20261124103000},
             {"Name": "PhoneNumber", "Value": int(phone)}]
    return {"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": checkout_id,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": items}}}}


def _result(originator: str, code: int, **extra: Any) -> dict[str, Any]:
    return {"Result": {"ResultType": 0, "ResultCode": code, "ResultDesc": "forged",
                       "OriginatorConversationID": originator, "ConversationID": "AG_forged",
                       "TransactionID": "OEI2AK4Q16", **extra}}


def test_a_forged_stk_success_for_a_cancelled_prompt_moves_no_money(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = open_deal(buyer, seller, amount=2500)
    payment = pay(buyer, deal["id"], CANCELLING_PHONE).json()["data"]
    db = database(stack)
    stored = wait_until(lambda: db.payments.find_one(
        {"_id": payment["id"], "checkoutRequestId": {"$exists": True}}), what="the push")
    receipt = "SKE" + uuid.uuid4().hex[:7].upper()
    _post(stack, "stk/callback",
          _stk_success(stored["checkoutRequestId"], 2500, CANCELLING_PHONE, receipt))

    flagged = wait_until(lambda: _flagged(admin, receipt, "contradicted"), timeout=30,
                         what="the forgery to be flagged as contradicted by STK Query")
    assert flagged["status"] == "flagged"
    failed = wait_for_payment(buyer, payment["id"], "failed")
    assert failed["resultCode"] == "1032" and failed["reference"] is None  # the genuine outcome
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "pending"
    assert buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"] == []


def _seller_with_pending_payout(stack: Stack) -> tuple[Api, dict[str, Any], dict[str, Any]]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=1000)
    buyer.data("POST", f"/api/transactions/{deal['id']}/release")
    wait_until(lambda: balance(seller) == 975, what="the release")
    response = seller.post("/api/wallet/withdrawals", json={
        "amount": 500, "phone": RESULT_NEVER_SENT_PHONE},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == 202, response.text
    payout = response.json()["data"]
    db = database(stack)
    stored = wait_until(lambda: db.payouts.find_one({"_id": payout["id"], "status": "pending"}),
                        what="the B2C to be sent")
    return seller, payout, stored


def test_a_forged_b2c_failure_and_a_forged_declined_status_return_nothing(stack: Stack) -> None:
    admin = make_admin(stack)
    seller, payout, stored = _seller_with_pending_payout(stack)
    originator = stored["originatorConversationId"]
    assert payout["id"] not in originator  # not derivable from what the seller sees
    declined = _result("guessed-" + uuid.uuid4().hex, 0, ResultParameters={"ResultParameter": [
        {"Key": "TransactionStatus", "Value": "Declined"},
        {"Key": "OriginatorConversationID", "Value": originator}]})
    _post(stack, "status/result", declined)
    _post(stack, "b2c/result", _result(originator, 2001))  # "the initiator is invalid"
    assert balance(seller) == 475  # nothing came back on either word

    def paid() -> bool:
        run_task(stack, "payouts.reconcile")
        found = seller.data("GET", f"/api/wallet/withdrawals/{payout['id']}")
        return bool(found["status"] == "success")

    wait_until(paid, timeout=30, every=1.0, what="the genuine status answer to settle it")
    assert balance(seller) == 475  # paid once, never refunded
    guessed = declined["Result"]["OriginatorConversationID"]
    found = wait_until(lambda: _flagged(admin, guessed, "unknown_payout"), timeout=30,
                       what="the forged status answer to be flagged")
    assert found["kind"] == "status_result"
    _post(stack, "b2c/result", _result(originator, 1))  # after it was paid: contradicts it
    wait_until(lambda: database(stack).mpesa_callbacks.find_one(
        {"kind": "b2c_result", "raw": {"$regex": originator},
         "status": "flagged", "processed.outcome": "contradicted"}),
        what="the late forgery to be flagged")
    assert balance(seller) == 475
