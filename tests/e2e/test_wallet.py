"""Wallets and withdrawals over B2C: success, failure with the money back, timeout then status."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.helpers import Api, balance, database, funded_deal, register, run_task, wait_until
from tests.stack import Stack


def _seller_with(stack: Stack, amount: int) -> Api:
    """A seller whose wallet holds ``amount`` less the 2.5 % fee, from a released deal."""
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=amount)
    buyer.data("POST", f"/api/transactions/{deal['id']}/release")
    return seller


def _withdraw(api: Api, amount: int, phone: str, key: str | None = None) -> requests.Response:
    return api.post("/api/wallet/withdrawals", {"amount": amount, "phone": phone},
                    headers={"Idempotency-Key": key or uuid.uuid4().hex})


def _settled(api: Api, payout_id: str, status: str) -> Any:
    def probe() -> Any:
        payout = api.data("GET", f"/api/wallet/withdrawals/{payout_id}")
        return payout if payout["status"] == status else None

    return wait_until(probe, timeout=30, every=0.1, what=f"withdrawal {payout_id} → {status}")


def _b2c_requests(stack: Stack, phone: str) -> list[dict[str, Any]]:
    log = requests.get(f"{stack.sandbox}/sandbox/requests", timeout=5,
                       params={"path": "/mpesa/b2c/v3/paymentrequest", "phone": phone})
    return log.json()["items"]  # type: ignore[no-any-return]


def test_a_withdrawal_leaves_the_wallet_at_once_and_reaches_the_phone(stack: Stack) -> None:
    seller = _seller_with(stack, 2000)  # 1950 in the wallet
    key = uuid.uuid4().hex
    first = _withdraw(seller, 1000, "0712345678", key)
    assert first.status_code == 202, first.text
    payout = first.json()["data"]
    assert payout["status"] == "queued" and payout["phone"] == "2547****678"
    assert balance(seller) == 950  # reserved before M-Pesa is even asked
    again = _withdraw(seller, 1000, "0712345678", key)
    assert again.status_code == 202 and again.json()["data"]["id"] == payout["id"]
    done = _settled(seller, payout["id"], "success")
    assert len(done["reference"]) == 10 and balance(seller) == 950
    sent = [r for r in _b2c_requests(stack, "254712345678") if r["status"] == 200
            and r["body"]["Occassion"] == f"payout {payout['id']}"]
    assert len(sent) == 1
    kinds = [n["kind"] for n in seller.data("GET", "/api/notifications")["items"]]
    assert "payout_succeeded" in kinds
    entries = seller.data("GET", "/api/wallet")["entries"]
    assert [e["amount"] for e in entries][:2] == [-1000, 1950]


def test_a_failed_payout_returns_the_money_to_the_wallet(stack: Stack) -> None:
    seller = _seller_with(stack, 1000)  # 975
    payout = _withdraw(seller, 500, "254700000001").json()["data"]
    assert balance(seller) == 475
    failed = _settled(seller, payout["id"], "failed")
    # Confirmed by our Transaction Status query, which carries M-Pesa's reason.
    assert failed["resultCode"] == "DECLINED"
    assert failed["resultDesc"] == "Declined: The initiator information is invalid."
    assert balance(seller) == 975
    kinds = [n["kind"] for n in seller.data("GET", "/api/notifications?unread=true")["items"]]
    assert "payout_failed" in kinds


def test_a_queue_timeout_is_resolved_by_a_status_query_not_by_sending_again(
    stack: Stack,
) -> None:
    seller = _seller_with(stack, 1000)
    payout = _withdraw(seller, 300, "254700000003").json()["data"]
    done = _settled(seller, payout["id"], "success")  # the timeout was no failure: it was paid
    assert done["reference"] and balance(seller) == 675
    assert len([r for r in _b2c_requests(stack, "254700000003")
                if r["body"]["Occassion"] == f"payout {payout['id']}"]) == 1


def test_a_lost_result_is_found_by_the_reconciler(stack: Stack) -> None:
    seller = _seller_with(stack, 1000)
    payout = _withdraw(seller, 200, "254700000005").json()["data"]
    _settled(seller, payout["id"], "pending")

    def reconciled() -> bool:
        run_task(stack, "payouts.reconcile")  # what beat does every 30 s
        status = seller.data("GET", f"/api/wallet/withdrawals/{payout['id']}")["status"]
        return bool(status == "success")

    wait_until(reconciled, timeout=30, every=1.0, what="the reconciler's status query")
    assert balance(seller) == 775


def test_a_result_delivered_twice_settles_once(stack: Stack) -> None:
    seller = _seller_with(stack, 1000)
    payout = _withdraw(seller, 400, "254700000006").json()["data"]
    _settled(seller, payout["id"], "success")
    db = database(stack)
    wait_until(lambda: db.mpesa_callbacks.count_documents(
        {"kind": "b2c_result", "raw": {"$regex": payout["id"]}, "status": "received"}) == 0,
        what="the duplicate result to be processed")
    assert balance(seller) == 575
    assert db.postings.count_documents({"_id": f"payout:{payout['id']}:outcome"}) == 1


def test_withdrawing_more_than_the_balance_is_refused_and_writes_nothing(stack: Stack) -> None:
    seller = _seller_with(stack, 1000)  # 975
    db = database(stack)
    before = (db.payouts.count_documents({}), db.postings.count_documents({}))
    refused = _withdraw(seller, 976, "0712345678")
    assert refused.status_code == 409 and "amount" in refused.json()["error"]["details"]
    too_small = _withdraw(seller, 9, "0712345678")
    assert too_small.status_code == 422
    assert (db.payouts.count_documents({}), db.postings.count_documents({})) == before
    assert balance(seller) == 975
