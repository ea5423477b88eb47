"""Settling STK results: credit once, fail cleanly, refuse mismatches, survive replays."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import ledger
from domain.deals import Deal, DealStatus, Trigger
from domain.errors import ConcurrencyError, NotFound
from domain.mpesa import StkResult
from domain.payments import PaymentOutcome, PaymentStatus
from domain.services import deals
from domain.services.ledger_views import deal_ledger
from tests.unit.world import RECEIPT, World


def _end(world: World, deal: Deal, trigger: Trigger) -> None:
    """Stand-in for an expiry or an operator: the deal stops being payable."""
    current = world.deal(deal.id)
    after = current.apply(trigger, "system", world.fakes.clock.now(), trigger.value)
    world.fakes.deals.save(after, expected_version=current.version)


def test_a_confirmed_payment_is_credited_and_funds_the_deal(world: World) -> None:
    deal, payment = world.pending_payment(1500)
    world.fakes.clock.advance(seconds=20)
    settled = world.settle(world.success(payment))
    assert settled.outcome is PaymentOutcome.CREDITED
    paid = world.payment(payment.id)
    assert settled.payment == paid
    assert (paid.status, paid.receipt, paid.paid_at) == (
        PaymentStatus.SUCCESS, RECEIPT, world.fakes.clock.now())
    funded = world.deal(deal.id)
    assert (funded.status, funded.funded_by) == (DealStatus.ACTIVE, payment.id)
    assert funded.payment is not None
    assert (funded.payment.reference, funded.payment.status) == (RECEIPT, "success")


def test_crediting_writes_exactly_one_balanced_hold_into_escrow(world: World) -> None:
    deal, payment = world.pending_payment(1500)
    world.settle(world.success(payment))
    [posting] = world.fakes.ledger.postings.values()
    assert (posting.key, posting.kind, posting.deal_id) == (
        f"payment:{payment.id}:fund", "escrow_hold", deal.id)
    book = world.fakes.ledger
    assert book.balance(ledger.escrow(deal.id)) == 1500
    assert book.balance(ledger.CLEARING) == -1500 and book.total() == 0


def test_crediting_leaves_a_funded_event_and_tells_both_parties(world: World) -> None:
    deal, payment = world.pending_payment()
    world.settle(world.success(payment))
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.event, event.actor, event.from_status, event.status, event.seq) == (
        "funded", "system", DealStatus.PENDING, DealStatus.ACTIVE, world.deal(deal.id).version)
    assert event.note == f"M-Pesa receipt {RECEIPT}"
    notifier = world.fakes.notifier
    assert notifier.payment_events[-1] == (payment.id, "success", deal.id)
    assert notifier.deal_events[-1] == ("transaction:updated", deal.id, "active")
    for party in (world.buyer.id, world.seller.id):
        assert "deal_funded" in world.fakes.notifications.kinds_for(party)


def test_settling_the_same_success_twice_changes_nothing_the_second_time(world: World) -> None:
    deal, payment = world.pending_payment()
    world.settle(world.success(payment))
    fakes = world.fakes
    before = (dict(fakes.ledger.postings), world.deal(deal.id), world.payment(payment.id),
              dict(fakes.deals.events), list(fakes.notifier.deal_events),
              list(fakes.notifier.payment_events), dict(fakes.notifications.rows))
    fakes.clock.advance(minutes=1)
    again = world.settle(world.success(payment))
    assert again.outcome is PaymentOutcome.REPEAT
    after = (dict(fakes.ledger.postings), world.deal(deal.id), world.payment(payment.id),
             dict(fakes.deals.events), list(fakes.notifier.deal_events),
             list(fakes.notifier.payment_events), dict(fakes.notifications.rows))
    assert after == before
    assert world.deal(deal.id).version == 3  # created, payment_requested, funded


@pytest.mark.parametrize("code", ["1032", "1037", "1", "2001", "SFC_IC0003"])
def test_a_failed_payment_leaves_the_deal_pending_and_payable(world: World, code: str) -> None:
    deal, payment = world.pending_payment()
    settled = world.settle(world.failure(payment, code))
    assert settled.outcome is PaymentOutcome.FAILED
    assert (world.payment(payment.id).status, world.payment(payment.id).result_code) == (
        PaymentStatus.FAILED, code)
    assert world.deal(deal.id).status is DealStatus.PENDING
    assert world.fakes.ledger.postings == {}
    assert world.fakes.notifications.kinds_for(world.buyer.id) == ["payment_failed"]
    retry = world.request(deal, "k2", "h2")
    assert retry.status is PaymentStatus.QUEUED and retry.id != payment.id
    assert world.fakes.tasks.stk_pushes == [payment.id, retry.id]


@pytest.mark.parametrize("changes", [
    {"amount": Decimal("1")}, {"amount": Decimal("1500.50")}, {"amount": Decimal("15000")},
    {"amount": None}, {"phone": "254700000009"}, {"receipt": None}])
def test_a_success_that_does_not_match_moves_no_money_and_leaves_it_pending(
    world: World, changes: dict[str, object],
) -> None:
    deal, payment = world.pending_payment(1500)
    settled = world.settle(world.success(payment, **changes))
    assert settled.outcome is PaymentOutcome.MISMATCH
    assert world.mpesa.queried == []  # refused before asking anything
    assert world.payment(payment.id) == payment  # still pending, untouched
    assert world.deal(deal.id).status is DealStatus.PENDING
    assert world.fakes.ledger.postings == {} and world.fakes.ledger.attempts == []
    # The genuine result can still be applied afterwards.
    assert world.settle(world.success(payment)).outcome is (
        PaymentOutcome.CREDITED)


def test_a_result_for_an_unknown_checkout_request_is_reported_and_moves_nothing(
    world: World,
) -> None:
    world.pending_payment()
    result = StkResult("ws_CO_nobody", None, "0", "ok", Decimal(1500), RECEIPT, "254708374149")
    settled = world.settle(result)
    assert (settled.outcome, settled.payment) == (PaymentOutcome.UNKNOWN_PAYMENT, None)
    assert world.fakes.ledger.postings == {}


@pytest.mark.parametrize("trigger", [Trigger.CANCEL, Trigger.EXPIRE])
def test_money_for_a_deal_that_can_no_longer_take_it_goes_to_the_buyers_wallet(
    world: World, trigger: Trigger,
) -> None:
    deal, payment = world.pending_payment(1500)
    _end(world, deal, trigger)
    for _ in range(2):  # the second run must change nothing
        settled = world.settle(world.success(payment))
    assert settled.outcome is PaymentOutcome.REPEAT
    book = world.fakes.ledger
    assert sorted(book.postings) == [f"payment:{payment.id}:fund", f"payment:{payment.id}:return"]
    assert book.postings[f"payment:{payment.id}:return"].kind == "late_payment_return"
    assert book.balance(ledger.wallet(world.buyer.id)) == 1500
    assert book.balance(ledger.escrow(deal.id)) == 0
    assert book.balance(ledger.CLEARING) == -1500 and book.total() == 0
    assert sum(ledger.balances(book.postings.values()).values()) == 0
    assert world.deal(deal.id).status is DealStatus.CANCELLED
    assert world.deal(deal.id).funded_by is None
    assert world.payment(payment.id).status is PaymentStatus.SUCCESS


def test_the_first_late_success_reports_it_went_to_the_wallet(world: World) -> None:
    deal, payment = world.pending_payment()
    _end(world, deal, Trigger.EXPIRE)
    settled = world.settle(world.success(payment))
    assert settled.outcome is PaymentOutcome.CREDITED_TO_WALLET


@pytest.mark.parametrize("crash", ["ledger", "payment save", "deal save", "timeline"])
def test_a_crash_midway_is_finished_by_the_next_run_without_doubling(
    world: World, crash: str,
) -> None:
    deal, payment = world.pending_payment()
    fakes = world.fakes
    boom = ConcurrencyError("worker died")
    if crash == "ledger":
        fakes.ledger.fail_next_post = boom
    elif crash == "payment save":
        fakes.payments.fail_next_save = boom
    elif crash == "deal save":
        fakes.deals.fail_next_save = boom
    else:
        fakes.deals.fail_next_record = boom
    with pytest.raises(ConcurrencyError):
        world.settle(world.success(payment))
    # The money is posted before the status: a payment is never paid with no posting.
    paid_first = crash in ("deal save", "timeline")
    assert world.payment(payment.id).status is (
        PaymentStatus.SUCCESS if paid_first else PaymentStatus.PENDING)
    assert (f"payment:{payment.id}:fund" in fakes.ledger.postings) is (crash != "ledger")
    world.settle(world.success(payment))
    assert list(fakes.ledger.postings) == [f"payment:{payment.id}:fund"]
    assert world.deal(deal.id).status is DealStatus.ACTIVE
    assert [e.event for e in deals.timeline(world.ctx, deal)].count("funded") == 1
    assert fakes.ledger.balance(ledger.escrow(deal.id)) == 1500


def test_a_run_that_died_before_telling_the_parties_is_finished_by_the_retry(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    world.fakes.notifications.fail_next_add = ConnectionError("mongo went away")
    with pytest.raises(ConnectionError):
        world.settle(world.success(payment))
    world.settle(world.success(payment))  # the task's retry
    assert world.deal(deal.id).status is DealStatus.ACTIVE
    for party in (world.buyer.id, world.seller.id):
        assert "deal_funded" in world.fakes.notifications.kinds_for(party)


def test_a_failure_whose_notice_was_lost_to_a_crash_is_told_on_the_retry(world: World) -> None:
    _, payment = world.pending_payment()
    world.fakes.notifications.fail_next_add = ConnectionError("mongo went away")
    with pytest.raises(ConnectionError):
        world.settle(world.failure(payment))
    world.settle(world.failure(payment))  # the task's retry
    assert world.payment(payment.id).status is PaymentStatus.FAILED
    assert world.fakes.notifications.kinds_for(world.buyer.id) == ["payment_failed"]


ACTIONS = st.lists(st.tuples(st.sampled_from(
    ["succeed", "fail", "replay", "late_success", "end", "repay"]), st.integers(0, 1)),
    max_size=14)


@settings(max_examples=60, deadline=None, database=None)  # no files
@given(ACTIONS)
def test_any_sequence_of_mpesa_outcomes_keeps_the_books_exact(
    steps: list[tuple[str, int]],
) -> None:
    world = World.build()
    world.fakes.payments.one_prompt_per_phone = False  # one phone pays many deals
    pairs = [world.pending_payment(amount, key=f"k{i}") for i, amount in enumerate((700, 1300))]
    keys = iter(range(100))
    last: list[StkResult] = []
    for action, i in steps:
        deal = pairs[i][0]
        history = list(world.fakes.payments.for_deal(deal.id))
        newest = history[-1]
        if action == "succeed" and newest.status is PaymentStatus.PENDING:
            last = [world.success(newest)]
        elif action == "fail" and newest.status is PaymentStatus.PENDING:
            last = [world.failure(newest)]
        elif action == "late_success" and newest.checkout_request_id:
            last = [world.success(newest)]
        elif action == "end" and world.deal(deal.id).status is DealStatus.PENDING:
            _end(world, deal, Trigger.EXPIRE)
        elif action == "repay" and world.deal(deal.id).status is DealStatus.PENDING and \
                not newest.is_open:
            world.push(world.request(deal, f"r{next(keys)}", "h"))
        if action in ("succeed", "fail", "replay", "late_success"):
            for result in last:
                world.settle(result)
        _check_books(world, [deal for deal, _ in pairs])


def _check_books(world: World, all_deals: list[Deal]) -> None:
    book = world.fakes.ledger
    paid = [p for p in world.fakes.payments.rows.values() if p.status is PaymentStatus.SUCCESS]
    assert book.total() == 0
    assert book.balance(ledger.CLEARING) == -sum(p.amount for p in paid)
    returned = 0
    for original in all_deals:
        deal = world.deal(original.id)
        held = book.balance(ledger.escrow(deal.id))
        assert held == (deal.amount if deal.status is DealStatus.ACTIVE else 0)
        funders = [p for p in paid if p.deal_id == deal.id and p.id == deal.funded_by]
        assert len(funders) == (1 if deal.status is DealStatus.ACTIVE else 0)
        returned += sum(p.amount for p in paid if p.deal_id == deal.id and p not in funders)
        events = [e.event for e in deals.timeline(world.ctx, deal)]
        assert events.count("funded") == (1 if deal.status is DealStatus.ACTIVE else 0)
    assert book.balance(ledger.wallet(world.buyer.id)) == returned


def test_the_parties_read_a_deals_postings_and_they_sum_to_zero(world: World) -> None:
    deal, payment = world.pending_payment(1500)
    world.settle(world.success(payment))
    view = deal_ledger(world.ctx, world.seller, deal.id)
    assert [p.key for p in view["postings"]] == [f"payment:{payment.id}:fund"]
    assert view["balances"] == {"mpesa:clearing": -1500, f"escrow:{deal.id}": 1500}
    assert view["sum"] == 0
    with pytest.raises(NotFound):
        deal_ledger(world.ctx, world.register("x@example.com"), deal.id)
