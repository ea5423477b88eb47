"""Racing requests: exactly one wins, the other gets 409, money moves once. And who may do what."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.helpers import Api, balance, database, funded_deal, make_admin, register
from tests.stack import Stack


def _race(*calls: Callable[[], requests.Response]) -> list[int]:
    with ThreadPoolExecutor(len(calls)) as pool:
        return sorted(f.result().status_code for f in [pool.submit(c) for c in calls])


def test_two_releases_at_once_pay_the_seller_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=1000)
    path = f"/api/transactions/{deal['id']}/release"
    assert _race(lambda: buyer.post(path), lambda: buyer.post(path)) == [200, 409]
    assert balance(seller) == 975
    assert database(stack).postings.count_documents({"dealId": deal["id"]}) == 2


def test_a_release_racing_a_dispute_lets_exactly_one_win(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=800)
    codes = _race(lambda: buyer.post(f"/api/transactions/{deal['id']}/release"),
                  lambda: seller.post(f"/api/transactions/{deal['id']}/dispute",
                                      {"reason": "not paid for the extras"}))
    assert codes == [200, 409]
    final = buyer.data("GET", f"/api/transactions/{deal['id']}")
    assert final["status"] in ("completed", "disputed")
    assert balance(seller) == (780 if final["status"] == "completed" else 0)


def test_two_withdrawals_that_together_exceed_the_balance_spend_it_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=1000)
    buyer.data("POST", f"/api/transactions/{deal['id']}/release")  # 975 in the wallet

    def withdraw() -> requests.Response:
        return seller.post("/api/wallet/withdrawals", {"amount": 600, "phone": "0712345679"},
                           headers={"Idempotency-Key": uuid.uuid4().hex})

    assert _race(withdraw, withdraw) == [202, 409]
    assert balance(seller) == 375
    assert database(stack).payouts.count_documents({"userId": seller.user["id"]}) == 1


def test_each_action_belongs_to_its_party(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    stranger = register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=500)
    base = f"/api/transactions/{deal['id']}"
    assert seller.post(f"{base}/release").status_code == 403
    assert buyer.post(f"{base}/deliver").status_code == 403
    assert stranger.post(f"{base}/dispute", {"reason": "mine"}).status_code == 404
    assert admin.post(f"{base}/resolve", {"outcome": "refund"}).status_code == 409  # no dispute
    buyer.data("POST", f"{base}/dispute", {"reason": "broken"})
    assert buyer.post(f"{base}/resolve", {"outcome": "refund"}).status_code == 403
    assert seller.post(f"{base}/resolve", {"outcome": "release"}).status_code == 403
    assert admin.post(f"{base}/resolve", {"outcome": "refund", "sellerAmount": 5}).status_code \
        == 422
    assert admin.post(f"{base}/resolve", {"outcome": "keep"}).status_code == 422
    assert buyer.post(f"{base}/dispute", {"reason": "again"}).status_code == 409
    assert buyer.post(f"{base}/dispute", {}).status_code == 422
    assert buyer.data("GET", base)["status"] == "disputed"
    assert balance(seller) == 0 and balance(buyer) == 0


def test_a_withdrawal_is_visible_to_its_owner_only(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=500)
    buyer.data("POST", f"/api/transactions/{deal['id']}/release")
    payout = seller.data("POST", "/api/wallet/withdrawals", {"amount": 100, "phone": "0712345670"},
                         expect=202, headers={"Idempotency-Key": "w1"})
    assert buyer.get(f"/api/wallet/withdrawals/{payout['id']}").status_code == 404
    assert Api(stack.api).get("/api/wallet").status_code == 401
    assert seller.post("/api/wallet/withdrawals", {"amount": 100, "phone": "0712345670"})\
        .status_code == 400  # no Idempotency-Key
