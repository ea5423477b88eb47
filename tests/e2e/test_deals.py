"""Deals: create, list, read, edit and cancel, and who may do which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import listen, open_deal, pay, register, wait_until
from tests.stack import Stack


def test_a_buyer_opens_a_deal_and_the_seller_sees_it(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    due = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    deal = open_deal(buyer, seller, amount=4200, dueDate=due, terms="Ship in 3 days",
                     inspectionDays=5)
    assert deal["status"] == "pending" and deal["amount"] == 4200 and deal["currency"] == "KES"
    assert deal["buyer"] == buyer.user["id"] and deal["seller"] == seller.user["id"]
    assert deal["inspectionDays"] == 5 and deal["timeline"][0]["event"] == "created"
    seen = seller.data("GET", f"/api/transactions/{deal['id']}")
    assert seen["id"] == deal["id"] and seen["terms"] == "Ship in 3 days"


def test_only_buyers_open_deals_and_only_with_a_real_seller(stack: Stack) -> None:
    seller, buyer, other_buyer = (register(stack, r) for r in ("seller", "buyer", "buyer"))
    refused = seller.post("/api/transactions", {"title": "x", "description": "y", "amount": 10,
                                                "sellerEmail": buyer.user["email"]})
    assert refused.status_code == 403
    not_a_seller = buyer.post("/api/transactions", {"title": "x", "description": "y",
                                                    "amount": 10,
                                                    "sellerEmail": other_buyer.user["email"]})
    assert not_a_seller.status_code == 422
    assert "sellerEmail" in not_a_seller.json()["error"]["details"]


def test_someone_elses_deal_does_not_exist_for_you(stack: Stack) -> None:
    seller, buyer, stranger = (register(stack, r) for r in ("seller", "buyer", "buyer"))
    deal = open_deal(buyer, seller)
    for method in ("GET", "PUT", "DELETE"):
        response = stranger.call(method, f"/api/transactions/{deal['id']}",
                                 json={"title": "mine"} if method == "PUT" else None)
        assert response.status_code == 404, method
    assert stranger.get(f"/api/transactions/{deal['id']}/payments").status_code == 404
    assert pay(stranger, deal["id"], "254708374149").status_code == 404


def test_lists_show_own_deals_with_filters_and_pages(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    made = [open_deal(buyer, seller, amount=100 + i) for i in range(3)]
    buyer.data("DELETE", f"/api/transactions/{made[0]['id']}")
    page = buyer.data("GET", "/api/transactions?limit=2&page=1")
    assert page["total"] == 3 and page["limit"] == 2 and len(page["items"]) == 2
    assert page["items"][0]["id"] == made[2]["id"]  # newest first
    second = buyer.data("GET", "/api/transactions?limit=2&page=2")
    assert [d["id"] for d in second["items"]] == [made[0]["id"]]
    cancelled = buyer.data("GET", "/api/transactions?status=cancelled")
    assert [d["id"] for d in cancelled["items"]] == [made[0]["id"]]
    as_seller = seller.data("GET", "/api/transactions?role=seller")
    assert as_seller["total"] == 3
    assert buyer.data("GET", "/api/transactions?role=seller")["total"] == 0


def test_the_buyer_edits_and_cancels_a_pending_deal_and_the_seller_cannot(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=900)
    assert seller.call("PUT", f"/api/transactions/{deal['id']}",
                       json={"amount": 1}).status_code == 403
    edited = buyer.data("PUT", f"/api/transactions/{deal['id']}", {"amount": 950, "title": "New"})
    assert edited["amount"] == 950 and edited["title"] == "New" and edited["version"] == 2
    assert seller.call("DELETE", f"/api/transactions/{deal['id']}").status_code == 403
    cancelled = buyer.data("DELETE", f"/api/transactions/{deal['id']}")
    assert cancelled["status"] == "cancelled"
    assert [e["event"] for e in cancelled["timeline"]] == ["created", "updated", "cancelled"]
    again = buyer.call("DELETE", f"/api/transactions/{deal['id']}")
    assert again.status_code == 409
    assert pay(buyer, deal["id"], "254708374149").status_code == 409


def test_a_deal_with_a_payment_in_flight_cannot_be_edited_or_cancelled(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller)
    assert pay(buyer, deal["id"], "254708374149").status_code == 202
    assert buyer.call("PUT", f"/api/transactions/{deal['id']}",
                      json={"amount": 1}).status_code == 409
    assert buyer.call("DELETE", f"/api/transactions/{deal['id']}").status_code == 409
    assert pay(seller, deal["id"], "254708374149").status_code == 403


def test_the_seller_hears_of_a_new_deal_at_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    ears = listen(stack, seller.token or "")
    try:
        deal = open_deal(buyer, seller, amount=321)
        heard = wait_until(lambda: ears.seen("transaction:created",
                                             lambda d: d["id"] == deal["id"]),
                           what="transaction:created")
    finally:
        ears.close()
    assert heard[0]["amount"] == 321 and heard[0]["status"] == "pending"
