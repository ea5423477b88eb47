"""After funding: delivery, release, the auto-release sweep, expiry and settlement repair."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import ledger
from domain.deals import DealStatus
from domain.errors import Conflict, Forbidden, IllegalTransitionError, NotFound
from domain.payments import PaymentStatus
from domain.services import deals, lifecycle
from tests.unit.world import World


def _settle_posting(world: World, deal_id: str) -> ledger.Posting | None:
    return world.fakes.ledger.get(f"deal:{deal_id}:settle")


def test_the_seller_marks_a_funded_deal_delivered_and_the_inspection_period_starts(
    world: World,
) -> None:
    deal = world.funded(inspection_days=5)
    world.fakes.clock.advance(hours=2)
    now = world.fakes.clock.now()
    after = lifecycle.deliver(world.ctx, world.seller, deal.id)
    assert (after.status, after.delivered_at, after.inspection_ends_at) == (
        DealStatus.ACTIVE, now, now + timedelta(days=5))
    assert world.deal(deal.id) == after and after.version == deal.version + 1
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.actor, event.from_status, event.status) == (
        "delivered", world.seller.id, DealStatus.ACTIVE, DealStatus.ACTIVE)
    assert world.fakes.notifications.kinds_for(world.buyer.id)[-1] == "deal_delivered"
    assert "deal_delivered" not in world.fakes.notifications.kinds_for(world.seller.id)
    assert world.fakes.notifier.deal_events[-1] == ("transaction:updated", deal.id, "active")


@pytest.mark.parametrize(("who", "error"), [
    ("buyer", Forbidden), ("admin", Forbidden), ("stranger", NotFound)])
def test_only_the_seller_marks_a_deal_delivered(
    world: World, who: str, error: type[Exception],
) -> None:
    deal = world.funded()
    actor = {"buyer": world.buyer, "admin": world.admin(),
             "stranger": world.register("x@example.com", "seller")}[who]
    with pytest.raises(error):
        lifecycle.deliver(world.ctx, actor, deal.id)
    assert world.deal(deal.id) == deal


def test_a_deal_is_marked_delivered_only_once(world: World) -> None:
    deal = lifecycle.deliver(world.ctx, world.seller, world.funded().id)
    world.fakes.clock.advance(days=1)
    with pytest.raises(Conflict):
        lifecycle.deliver(world.ctx, world.seller, deal.id)
    assert world.deal(deal.id) == deal  # the inspection period did not restart


def test_an_unfunded_deal_cannot_be_marked_delivered(world: World) -> None:
    deal = world.open_deal()
    with pytest.raises(IllegalTransitionError):
        lifecycle.deliver(world.ctx, world.seller, deal.id)
    assert world.deal(deal.id) == deal


@pytest.mark.parametrize(("bps", "amount", "fee"), [
    (0, 1500, 0), (250, 1500, 37), (250, 1000, 25), (250, 39, 0), (250, 40, 1),
    (250, 250_000, 6_250), (0, 1, 0)])
def test_the_buyer_releases_the_escrow_to_the_sellers_wallet_less_a_fee_rounded_down(
    world: World, bps: int, amount: int, fee: int,
) -> None:
    world.fakes.fee_rate_bps = bps
    deal = world.funded(amount)
    after = lifecycle.release(world.ctx, world.buyer, deal.id)
    assert after.status is DealStatus.COMPLETED and world.deal(deal.id) == after
    settlement = after.settlement
    assert settlement is not None
    assert (settlement.seller_amount, settlement.buyer_amount, settlement.fee) == (amount, 0, fee)
    assert settlement.settled_at == world.fakes.clock.now()
    assert world.balance(ledger.wallet(world.seller.id)) == amount - fee
    assert world.balance(ledger.FEES) == fee
    assert world.balance(ledger.wallet(world.buyer.id)) == 0
    assert world.balance(ledger.escrow(deal.id)) == 0 and world.fakes.ledger.total() == 0
    posting = _settle_posting(world, deal.id)
    assert posting is not None and posting.deal_id == deal.id


def test_a_release_leaves_a_released_event_tells_both_parties_and_the_sellers_wallet(
    world: World,
) -> None:
    world.fakes.fee_rate_bps = 250
    deal = world.funded(1500)
    notifier = world.fakes.notifier
    before = len(notifier.wallets)
    lifecycle.release(world.ctx, world.buyer, deal.id)
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.actor, event.from_status, event.status) == (
        "released", world.buyer.id, DealStatus.ACTIVE, DealStatus.COMPLETED)
    for party in (world.buyer.id, world.seller.id):
        assert world.fakes.notifications.kinds_for(party)[-1] == "released"
    assert notifier.wallets[before:] == [(world.seller.id, 1463)]
    assert notifier.deal_events[-1] == ("transaction:updated", deal.id, "completed")


@pytest.mark.parametrize("who", ["seller", "admin"])
def test_only_the_buyer_releases(world: World, who: str) -> None:
    deal = world.funded()
    actor = world.seller if who == "seller" else world.admin()
    with pytest.raises(Forbidden):
        lifecycle.release(world.ctx, actor, deal.id)
    assert world.deal(deal.id) == deal and _settle_posting(world, deal.id) is None


@pytest.mark.parametrize("state", ["pending", "completed"])
def test_a_deal_that_is_not_active_cannot_be_released(world: World, state: str) -> None:
    deal = world.open_deal() if state == "pending" else world.funded()
    if state == "completed":
        lifecycle.release(world.ctx, world.buyer, deal.id)
    postings = dict(world.fakes.ledger.postings)
    with pytest.raises(IllegalTransitionError):
        lifecycle.release(world.ctx, world.buyer, deal.id)
    assert world.fakes.ledger.postings == postings


def _delivered(world: World, inspection_days: int) -> str:
    deal = world.funded(1000, inspection_days=inspection_days)
    return lifecycle.deliver(world.ctx, world.seller, deal.id).id


def test_the_sweep_releases_only_deals_whose_inspection_ended_by_the_given_instant(
    world: World,
) -> None:
    start = world.fakes.clock.now()
    one, three = _delivered(world, 1), _delivered(world, 3)
    undelivered = world.funded(700).id
    assert lifecycle.auto_release_due(world.ctx, start + timedelta(days=1, seconds=-1)) == []
    at = start + timedelta(days=1)
    assert lifecycle.auto_release_due(world.ctx, at) == [one]
    released = world.deal(one)
    assert released.status is DealStatus.COMPLETED and released.settlement is not None
    assert released.settlement.settled_at == at and released.updated_at == at
    assert [world.deal(d).status for d in (three, undelivered)] == [DealStatus.ACTIVE] * 2
    event = deals.timeline(world.ctx, released)[-1]
    assert (event.event, event.actor, event.timestamp) == ("auto_released", "system", at)
    assert world.balance(ledger.wallet(world.seller.id)) == 1000


def test_running_the_sweep_twice_releases_each_deal_once(world: World) -> None:
    deal_id = _delivered(world, 1)
    at = world.fakes.clock.now() + timedelta(days=2)
    assert lifecycle.auto_release_due(world.ctx, at) == [deal_id]
    assert lifecycle.auto_release_due(world.ctx, at + timedelta(hours=1)) == []
    assert [p.kind for p in world.fakes.ledger.postings_for_deal(deal_id)] == [
        "escrow_hold", "auto_released"]
    assert world.balance(ledger.wallet(world.seller.id)) == 1000


def test_two_sweeps_racing_over_the_same_deals_release_them_once(world: World) -> None:
    deal_id = _delivered(world, 1)
    at = world.fakes.clock.now() + timedelta(days=1)
    fakes = world.fakes
    stale = list(fakes.deals.due_for_release(at, 10))  # the second sweep read before we wrote
    assert lifecycle.auto_release_due(world.ctx, at) == [deal_id]
    fakes.deals.due_for_release = lambda now, limit: stale  # type: ignore[method-assign]
    assert lifecycle.auto_release_due(world.ctx, at) == []
    assert world.fakes.ledger.attempts.count(f"deal:{deal_id}:settle") == 1
    assert [e.event for e in deals.timeline(world.ctx, world.deal(deal_id))].count(
        "auto_released") == 1


def test_the_sweep_skips_a_deal_in_dispute(world: World) -> None:
    deal_id = _delivered(world, 1)
    lifecycle.open_dispute(world.ctx, world.buyer, deal_id, "It does not switch on")
    assert lifecycle.auto_release_due(world.ctx, world.fakes.clock.now() + timedelta(days=9)) == []
    assert world.deal(deal_id).status is DealStatus.DISPUTED
    assert world.balance(ledger.escrow(deal_id)) == 1000


def test_an_unpaid_deal_past_its_due_date_is_cancelled_and_the_parties_told(
    world: World,
) -> None:
    now = world.fakes.clock.now()
    due = deals.open_deal(world.ctx, world.buyer.id, world.terms(due_date=now + timedelta(days=1)))
    failed = deals.open_deal(world.ctx, world.buyer.id,
                             world.terms(due_date=now + timedelta(hours=2)))
    world.settle(world.failure(world.push(world.request(failed))))
    later = deals.open_deal(world.ctx, world.buyer.id,
                            world.terms(due_date=now + timedelta(days=3)))
    undated = world.open_deal()
    at = now + timedelta(days=1)
    assert sorted(lifecycle.expire_unfunded(world.ctx, at)) == sorted([due.id, failed.id])
    for deal_id in (due.id, failed.id):
        expired = world.deal(deal_id)
        assert expired.status is DealStatus.CANCELLED
        event = deals.timeline(world.ctx, expired)[-1]
        assert (event.event, event.actor, event.timestamp) == ("expired", "system", at)
    assert [world.deal(d.id).status for d in (later, undated)] == [DealStatus.PENDING] * 2
    assert "deal_expired" in world.fakes.notifications.kinds_for(world.buyer.id)
    assert "deal_expired" in world.fakes.notifications.kinds_for(world.seller.id)
    assert lifecycle.expire_unfunded(world.ctx, at) == []


@pytest.mark.parametrize("payment_state", ["queued", "pending", "success"])
def test_a_deal_with_an_open_or_successful_payment_is_not_expired(
    world: World, payment_state: str,
) -> None:
    due = world.fakes.clock.now() + timedelta(hours=1)
    deal = deals.open_deal(world.ctx, world.buyer.id, world.terms(due_date=due))
    payment = world.request(deal)
    if payment_state != "queued":
        payment = world.push(payment)
    if payment_state == "success":  # credited, but the worker died before funding the deal
        world.fakes.deals.fail_next_save = ConnectionError("worker died")
        with pytest.raises(ConnectionError):
            world.settle(world.success(payment))
        assert world.payment(payment.id).status is PaymentStatus.SUCCESS
    assert lifecycle.expire_unfunded(world.ctx, due + timedelta(days=1)) == []
    assert world.deal(deal.id).status is DealStatus.PENDING


def _release_losing_the_posting(world: World) -> str:
    deal = world.funded(1500)
    world.fakes.ledger.fail_next_post = ConnectionError("worker died")
    with pytest.raises(ConnectionError):
        lifecycle.release(world.ctx, world.buyer, deal.id)
    assert world.deal(deal.id).status is DealStatus.COMPLETED
    assert _settle_posting(world, deal.id) is None
    return deal.id


def test_the_repair_posts_a_settlement_that_a_crash_left_unposted_and_then_does_nothing(
    world: World,
) -> None:
    world.fakes.fee_rate_bps = 250
    deal_id = _release_losing_the_posting(world)
    assert lifecycle.repair_settlements(world.ctx) == 1
    posting = _settle_posting(world, deal_id)
    assert posting is not None and posting.kind == "released"
    assert world.balance(ledger.wallet(world.seller.id)) == 1463
    assert world.balance(ledger.FEES) == 37 and world.balance(ledger.escrow(deal_id)) == 0
    postings = dict(world.fakes.ledger.postings)
    assert lifecycle.repair_settlements(world.ctx) == 0
    assert world.fakes.ledger.postings == postings


def test_a_repair_that_posts_nothing_emits_no_wallet_change(world: World) -> None:
    deal = world.funded()
    lifecycle.release(world.ctx, world.buyer, deal.id)
    world.fakes.deals.posted.discard(deal.id)  # a later save forgot the mark: swept again
    before = list(world.fakes.notifier.wallets)
    assert lifecycle.repair_settlements(world.ctx) == 0
    assert world.fakes.notifier.wallets == before


def test_a_release_whose_posting_was_lost_still_tells_both_parties_after_the_repair(
    world: World,
) -> None:
    _release_losing_the_posting(world)
    lifecycle.repair_settlements(world.ctx)
    for party in (world.buyer.id, world.seller.id):
        assert "released" in world.fakes.notifications.kinds_for(party)


def test_one_deal_that_cannot_be_posted_does_not_stop_the_repair_of_the_others(
    world: World,
) -> None:
    import dataclasses

    from domain.deals import Settlement

    broken = world.funded(1000)
    healthy = world.funded(700)
    bad = dataclasses.replace(broken, settlement=Settlement(
        "released", 1000, 0, 2000, world.fakes.clock.now()))  # a fee above the share
    world.fakes.deals.rows[broken.id] = bad
    settled = dataclasses.replace(healthy, settlement=Settlement(
        "released", 700, 0, 0, world.fakes.clock.now()))
    world.fakes.deals.rows[healthy.id] = settled
    repaired = lifecycle.repair_settlements(world.ctx)
    assert repaired == 1
    assert [a[1]["deal"] for a in world.fakes.notifier.alerts] == [broken.id]
