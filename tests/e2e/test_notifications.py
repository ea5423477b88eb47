"""Stored notifications: listed newest first, filtered by unread, marked read one or all."""

from __future__ import annotations

from tests.helpers import funded_deal, register
from tests.stack import Stack


def test_notifications_are_stored_and_can_be_marked_read(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=700)
    listed = seller.data("GET", "/api/notifications")
    kinds = [n["kind"] for n in listed["items"]]
    assert kinds == ["deal_funded", "deal_created"] and listed["total"] == 2
    assert all(n["transactionId"] == deal["id"] and not n["read"] for n in listed["items"])

    first = listed["items"][0]["id"]
    assert seller.data("POST", f"/api/notifications/{first}/read") == {"updated": 1}
    unread = seller.data("GET", "/api/notifications?unread=true")
    assert [n["kind"] for n in unread["items"]] == ["deal_created"]

    assert buyer.post(f"/api/notifications/{first}/read").status_code == 404  # not theirs
    assert seller.post("/api/notifications/nope/read").status_code == 404
    assert seller.data("POST", "/api/notifications/read-all") == {"updated": 1}
    assert seller.data("GET", "/api/notifications?unread=true")["total"] == 0
    assert [n["kind"] for n in buyer.data("GET", "/api/notifications")["items"]] == [
        "deal_funded"]
