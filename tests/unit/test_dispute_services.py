"""Disputes: either party opens one, release is blocked, an admin resolves it."""

from __future__ import annotations

import pytest

from domain import ledger
from domain.deals import Deal, DealStatus
from domain.errors import Conflict, Forbidden, IllegalTransitionError, InvalidInput, NotFound
from domain.services import deals, lifecycle
from tests.unit.world import World

REASON = "The phone does not switch on"


def _disputed(world: World, amount: int = 1500) -> Deal:
    deal = world.funded(amount)
    return lifecycle.open_dispute(world.ctx, world.buyer, deal.id, REASON)


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_either_party_opens_a_dispute_on_a_funded_deal(world: World, who: str) -> None:
    deal = world.funded()
    party = world.buyer if who == "buyer" else world.seller
    world.fakes.clock.advance(hours=1)
    after = lifecycle.open_dispute(world.ctx, party, deal.id, f"  {REASON} ")
    assert after.status is DealStatus.DISPUTED and world.deal(deal.id) == after
    assert after.dispute is not None
    assert (after.dispute.reason, after.dispute.opened_by, after.dispute.opened_at) == (
        REASON, party.id, world.fakes.clock.now())
    assert after.dispute.outcome is None
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.actor, event.from_status, event.status, event.note) == (
        "dispute_opened", party.id, DealStatus.ACTIVE, DealStatus.DISPUTED, REASON)
    for user in (world.buyer.id, world.seller.id):
        assert world.fakes.notifications.kinds_for(user)[-1] == "dispute_opened"


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 2_001])
def test_a_dispute_needs_a_reason(world: World, reason: str | None) -> None:
    deal = world.funded()
    with pytest.raises(InvalidInput) as refused:
        lifecycle.open_dispute(world.ctx, world.buyer, deal.id, reason)  # type: ignore[arg-type]
    assert refused.value.field == "reason"
    assert world.deal(deal.id) == deal


@pytest.mark.parametrize(("who", "error"), [("admin", Forbidden), ("stranger", NotFound)])
def test_only_a_party_opens_a_dispute(world: World, who: str, error: type[Exception]) -> None:
    deal = world.funded()
    actor = world.admin() if who == "admin" else world.register("x@example.com")
    with pytest.raises(error):
        lifecycle.open_dispute(world.ctx, actor, deal.id, REASON)
    assert world.deal(deal.id) == deal


@pytest.mark.parametrize("state", ["pending", "completed", "disputed"])
def test_only_an_active_deal_can_be_disputed(world: World, state: str) -> None:
    if state == "pending":
        deal = world.open_deal()
    elif state == "completed":
        deal = lifecycle.release(world.ctx, world.buyer, world.funded().id)
    else:
        deal = _disputed(world)
    with pytest.raises(IllegalTransitionError):
        lifecycle.open_dispute(world.ctx, world.seller, deal.id, REASON)
    assert world.deal(deal.id) == deal


def test_release_is_refused_while_a_dispute_is_open(world: World) -> None:
    deal = _disputed(world)
    with pytest.raises(IllegalTransitionError):
        lifecycle.release(world.ctx, world.buyer, deal.id)
    assert world.deal(deal.id) == deal
    assert world.balance(ledger.escrow(deal.id)) == 1500
    assert world.fakes.ledger.get(f"deal:{deal.id}:settle") is None


@pytest.mark.parametrize("who", ["buyer", "seller"])
def test_only_an_admin_resolves_a_dispute(world: World, who: str) -> None:
    deal = _disputed(world)
    party = world.buyer if who == "buyer" else world.seller
    with pytest.raises(Forbidden):
        lifecycle.resolve_dispute(world.ctx, party, deal.id, "release", None, None)
    assert world.deal(deal.id) == deal


@pytest.mark.parametrize(("outcome", "seller_amount", "status", "seller", "buyer", "fee"), [
    ("release", None, DealStatus.COMPLETED, 1463, 0, 37),
    ("refund", None, DealStatus.CANCELLED, 0, 1500, 0),
    ("split", 600, DealStatus.COMPLETED, 585, 900, 15),
    ("split", 1, DealStatus.COMPLETED, 1, 1499, 0),
    ("split", 1499, DealStatus.COMPLETED, 1462, 1, 37),
])
def test_an_admin_resolves_a_dispute_and_the_escrow_is_divided_as_decided(
    world: World, outcome: str, seller_amount: int | None, status: DealStatus,
    seller: int, buyer: int, fee: int,
) -> None:
    world.fakes.fee_rate_bps = 250
    deal = _disputed(world, 1500)
    admin = world.admin()
    world.fakes.clock.advance(days=1)
    after = lifecycle.resolve_dispute(world.ctx, admin, deal.id, outcome, seller_amount, "ruled")
    assert after.status is status and world.deal(deal.id) == after
    assert after.dispute is not None and after.settlement is not None
    assert (after.dispute.reason, after.dispute.outcome, after.dispute.resolved_by,
            after.dispute.resolved_at, after.dispute.note) == (
        REASON, outcome, admin.id, world.fakes.clock.now(), "ruled")
    assert (after.settlement.buyer_amount, after.settlement.fee) == (buyer, fee)
    assert world.balance(ledger.wallet(world.seller.id)) == seller
    assert world.balance(ledger.wallet(world.buyer.id)) == buyer
    assert world.balance(ledger.FEES) == fee
    assert world.balance(ledger.escrow(deal.id)) == 0 and world.fakes.ledger.total() == 0
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.actor, event.from_status, event.status) == (
        f"dispute_{outcome}", admin.id, DealStatus.DISPUTED, status)
    for party in (world.buyer.id, world.seller.id):
        assert world.fakes.notifications.kinds_for(party)[-1] == f"dispute_{outcome}"
    moved = [user for user, _ in world.fakes.notifier.wallets]
    assert (world.seller.id in moved, world.buyer.id in moved) == (seller > 0, buyer > 0)


@pytest.mark.parametrize("seller_amount", [None, 0, -1, 1500, 1501])
def test_a_split_gives_each_side_at_least_one_shilling(
    world: World, seller_amount: int | None,
) -> None:
    deal = _disputed(world, 1500)
    with pytest.raises(InvalidInput) as refused:
        lifecycle.resolve_dispute(world.ctx, world.admin(), deal.id, "split", seller_amount, None)
    assert refused.value.field == "sellerAmount"
    assert world.deal(deal.id) == deal


def test_a_one_shilling_deal_cannot_be_split(world: World) -> None:
    deal = _disputed(world, 1)
    with pytest.raises(InvalidInput) as refused:
        lifecycle.resolve_dispute(world.ctx, world.admin(), deal.id, "split", 1, None)
    assert refused.value.field == "sellerAmount"


@pytest.mark.parametrize("outcome", ["release", "refund"])
def test_a_seller_amount_is_taken_by_a_split_only(world: World, outcome: str) -> None:
    deal = _disputed(world)
    with pytest.raises(InvalidInput) as refused:
        lifecycle.resolve_dispute(world.ctx, world.admin(), deal.id, outcome, 700, None)
    assert refused.value.field == "sellerAmount"
    assert world.deal(deal.id) == deal


@pytest.mark.parametrize("outcome", ["", "cancel", "RELEASE"])
def test_an_unknown_outcome_is_refused(world: World, outcome: str) -> None:
    deal = _disputed(world)
    with pytest.raises(InvalidInput) as refused:
        lifecycle.resolve_dispute(world.ctx, world.admin(), deal.id, outcome, None, None)
    assert refused.value.field == "outcome"


@pytest.mark.parametrize("state", ["active", "pending", "resolved"])
def test_resolving_a_deal_with_no_open_dispute_is_a_conflict(world: World, state: str) -> None:
    admin = world.admin()
    if state == "resolved":
        deal = lifecycle.resolve_dispute(world.ctx, admin, _disputed(world).id, "refund", None,
                                         None)
    else:
        deal = world.funded() if state == "active" else world.open_deal()
    postings = dict(world.fakes.ledger.postings)
    with pytest.raises(Conflict):
        lifecycle.resolve_dispute(world.ctx, admin, deal.id, "release", None, None)
    assert world.deal(deal.id) == deal and world.fakes.ledger.postings == postings


def test_a_dispute_on_an_unknown_deal_is_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        lifecycle.resolve_dispute(world.ctx, world.admin(), "no-such-deal", "refund", None, None)


def test_a_split_with_a_fractional_seller_amount_is_refused_before_anything_changes(
    world: World,
) -> None:
    deal = _disputed(world)
    with pytest.raises(InvalidInput):
        lifecycle.resolve_dispute(world.ctx, world.admin(), deal.id, "split",
                                  600.5, None)  # type: ignore[arg-type]
    assert world.deal(deal.id) == deal
