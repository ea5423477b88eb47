"""Every ending of a funded deal, with the money checked against what a person would compute.

The test stack charges a 2.5 % platform fee (FEE_RATE_BPS=250) on the seller's share.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import (
    Api,
    balance,
    funded_deal,
    listen,
    make_admin,
    open_deal,
    register,
    run_task,
    trial_balance,
    wait_until,
)
from tests.stack import Stack


def _ledger(api: Api, deal_id: str) -> dict[str, int]:
    ledger = api.data("GET", f"/api/transactions/{deal_id}/ledger")
    assert ledger["sum"] == 0
    return ledger["balances"]  # type: ignore[no-any-return]


def _kinds(api: Api) -> list[str]:
    return [n["kind"] for n in api.data("GET", "/api/notifications?limit=100")["items"]]


def test_the_buyer_releases_after_delivery_and_the_seller_is_paid_less_the_fee(
    stack: Stack,
) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=2000, inspectionDays=2)
    ears = listen(stack, seller.token or "")
    try:
        delivered = seller.data("POST", f"/api/transactions/{deal['id']}/deliver")
        assert delivered["deliveredAt"] and delivered["inspectionEndsAt"]
        released = buyer.data("POST", f"/api/transactions/{deal['id']}/release")
        wait_until(lambda: ears.seen("wallet:updated", lambda d: d["balance"] == 1950),
                   what="wallet:updated")
        wait_until(lambda: ears.seen("notification", lambda d: d["kind"] == "released"),
                   what="the release notification")
    finally:
        ears.close()
    assert released["status"] == "completed"
    assert released["settlement"] == {**released["settlement"], "kind": "released",
                                      "sellerAmount": 2000, "buyerAmount": 0, "fee": 50}
    assert [e["event"] for e in released["timeline"]][-2:] == ["delivered", "released"]
    assert balance(seller) == 1950 and balance(buyer) == 0  # 2000 less 2.5 %
    assert _ledger(buyer, deal["id"]) == {"mpesa:clearing": -2000, f"escrow:{deal['id']}": 0,
                                          f"wallet:{seller.user['id']}": 1950,
                                          "platform:fees": 50}
    assert {"deal_created", "deal_funded", "released"} <= set(_kinds(seller))
    assert sum(trial_balance(stack).values()) == 0


def test_an_inspection_period_that_ends_releases_the_deal_once(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=1000, inspectionDays=1)
    seller.data("POST", f"/api/transactions/{deal['id']}/deliver")
    run_task(stack, "deals.auto_release")  # now: the period has not ended, nothing happens
    later = (datetime.now(UTC) + timedelta(days=1, hours=1)).isoformat()
    for _ in range(2):  # beat running twice at once
        run_task(stack, "deals.auto_release", now=later)

    def completed() -> dict | None:
        current = buyer.data("GET", f"/api/transactions/{deal['id']}")
        return current if current["status"] == "completed" else None

    done = wait_until(completed, what="the auto-release")
    events = [e["event"] for e in done["timeline"]]
    assert events.count("auto_released") == 1
    assert done["timeline"][-1]["note"] == "the inspection period ended without a dispute"
    assert balance(seller) == 975
    assert len(buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"]) == 2


def test_a_disputed_deal_cannot_be_released_and_an_admin_releases_it(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = funded_deal(stack, buyer, seller, amount=3000)
    disputed = seller.data("POST", f"/api/transactions/{deal['id']}/dispute",
                           {"reason": "The buyer says it never arrived"})
    assert disputed["status"] == "disputed" and disputed["dispute"]["openedBy"] == seller.user["id"]
    assert buyer.post(f"/api/transactions/{deal['id']}/release").status_code == 409
    resolved = admin.data("POST", f"/api/transactions/{deal['id']}/resolve",
                          {"outcome": "release", "note": "tracking shows delivery"})
    assert resolved["status"] == "completed" and resolved["dispute"]["outcome"] == "release"
    assert balance(seller) == 2925 and balance(buyer) == 0
    assert "dispute_opened" in _kinds(buyer) and "dispute_release" in _kinds(buyer)


def test_an_admin_refunds_a_disputed_deal_to_the_buyers_wallet(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = funded_deal(stack, buyer, seller, amount=1200)
    buyer.data("POST", f"/api/transactions/{deal['id']}/dispute", {"reason": "Wrong item"})
    refunded = admin.data("POST", f"/api/transactions/{deal['id']}/resolve",
                          {"outcome": "refund"})
    assert refunded["status"] == "cancelled"
    assert balance(buyer) == 1200 and balance(seller) == 0  # no fee on a refund
    assert _ledger(buyer, deal["id"])[f"escrow:{deal['id']}"] == 0


def test_an_admin_splits_a_disputed_deal(stack: Stack) -> None:
    seller, buyer, admin = register(stack, "seller"), register(stack, "buyer"), make_admin(stack)
    deal = funded_deal(stack, buyer, seller, amount=1000)
    buyer.data("POST", f"/api/transactions/{deal['id']}/dispute", {"reason": "Half broken"})
    too_much = admin.post(f"/api/transactions/{deal['id']}/resolve",
                          {"outcome": "split", "sellerAmount": 1000})
    assert too_much.status_code == 422 and "sellerAmount" in too_much.json()["error"]["details"]
    split = admin.data("POST", f"/api/transactions/{deal['id']}/resolve",
                       {"outcome": "split", "sellerAmount": 600})
    assert split["status"] == "completed"
    assert balance(seller) == 585 and balance(buyer) == 400  # 600 less 15 fee; 400 back
    assert _ledger(admin, deal["id"])["platform:fees"] == 15


def test_a_deal_never_funded_by_its_due_date_is_cancelled(stack: Stack) -> None:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    due = datetime.now(UTC) + timedelta(days=2)
    deal = open_deal(buyer, seller, dueDate=due.isoformat())
    run_task(stack, "deals.expire_unfunded", now=(due + timedelta(minutes=1)).isoformat())

    def cancelled() -> dict | None:
        current = buyer.data("GET", f"/api/transactions/{deal['id']}")
        return current if current["status"] == "cancelled" else None

    done = wait_until(cancelled, what="the expiry")
    assert done["timeline"][-1]["event"] == "expired"
    assert buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"] == []
