"""The janitor: queued payments re-sent, pending ones queried on the schedule, doubt closed."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from domain import ledger
from domain.payments import Payment, PaymentOutcome, PaymentStatus
from domain.payouts import PayoutStatus
from domain.ports import GatewayRejected, PhoneBusy, StkStatus
from domain.services import payments, payouts, reconcile
from tests.unit.fakes import FakeB2c, FakeInbox, ScriptedGateway
from tests.unit.world import PHONE, RECEIPT, World


class QueryGateway:
    """Answers STK Queries from a script."""

    def __init__(self, *answers: StkStatus | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []

    def query(self, payment: Payment) -> StkStatus:
        self.asked.append(payment.id)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


PENDING = StkStatus(pending=True)


def _later(world: World, seconds: int) -> None:
    world.fakes.clock.advance(seconds=seconds)


def test_a_payment_whose_task_was_lost_is_sent_again_after_a_minute(world: World) -> None:
    payment = world.request(world.open_deal())
    world.fakes.tasks.stk_pushes.clear()
    now = world.fakes.clock.now()
    assert reconcile.reconcile_payments(world.ctx, now + timedelta(seconds=30))["requeued"] == 0
    counts = reconcile.reconcile_payments(world.ctx, now + timedelta(seconds=61))
    assert counts["requeued"] == 1 and world.fakes.tasks.stk_pushes == [payment.id]


def test_a_push_claimed_by_a_worker_that_died_is_never_sent_again(world: World) -> None:
    payment = world.request(world.open_deal())
    claimed = payment.pushing(world.fakes.clock.now())
    world.fakes.payments.save(claimed, expected_version=payment.version)
    world.fakes.tasks.stk_pushes.clear()
    counts = reconcile.reconcile_payments(world.ctx, world.fakes.clock.now() + timedelta(minutes=2))
    assert counts["lost"] == 1 and world.fakes.tasks.stk_pushes == []
    lost = world.payment(payment.id)
    assert (lost.status, lost.outcome_unknown) == (PaymentStatus.PENDING, True)


def test_a_success_callback_for_a_lost_push_is_matched_by_phone_and_amount(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    claimed = payment.pushing(world.fakes.clock.now())
    world.fakes.payments.save(claimed, expected_version=payment.version)
    reconcile.reconcile_payments(world.ctx, world.fakes.clock.now() + timedelta(minutes=2))
    unknown = world.payment(payment.id)
    result = world.success(dataclasses.replace(unknown, checkout_request_id="ws_CO_lost"))
    settled = world.settle(result)
    assert settled.outcome is PaymentOutcome.CREDITED
    paid = world.payment(payment.id)
    assert (paid.status, paid.checkout_request_id, paid.outcome_unknown) == (
        PaymentStatus.SUCCESS, "ws_CO_lost", False)
    assert world.fakes.ledger.balance(ledger.escrow(deal.id)) == deal.amount


def test_pending_payments_are_queried_when_due_and_the_first_final_answer_closes_them(
    world: World,
) -> None:
    deal, payment = world.pending_payment()
    now = world.fakes.clock.now()
    assert reconcile.reconcile_payments(world.ctx, now + timedelta(seconds=59))["queried"] == 0
    assert reconcile.reconcile_payments(world.ctx, now + timedelta(seconds=60))["queried"] == 1
    assert world.fakes.tasks.stk_queries == [payment.id]
    gateway = QueryGateway(PENDING, StkStatus(False, "0", "The service request is processed"))
    _later(world, 60)
    waiting = payments.check_payment(world.ctx, gateway, payment.id)
    assert waiting is not None and waiting.status is PaymentStatus.PENDING
    assert waiting.checks == 1 and waiting.next_check_at == world.fakes.clock.now() + timedelta(
        seconds=world.ctx.stk_query_delays_s[1])
    paid = payments.check_payment(world.ctx, gateway, payment.id)
    assert paid is not None and (paid.status, paid.receipt) == (PaymentStatus.SUCCESS, None)
    assert world.deal(deal.id).status.value == "active"
    callback = world.settle(world.success(paid))  # brings the receipt
    assert callback.outcome is PaymentOutcome.RECEIPT_ADDED
    assert world.payment(payment.id).receipt == RECEIPT
    funded = world.deal(deal.id)
    assert funded.payment is not None and funded.payment.reference == RECEIPT
    assert world.mpesa.queried == []  # already confirmed: the receipt needs no second query


@pytest.mark.parametrize("answer", [PENDING, GatewayRejected("400.002.02", "Invalid id")])
def test_a_payment_never_answered_is_closed_unresolved_and_alerted(
    world: World, answer: object,
) -> None:
    deal, payment = world.pending_payment()
    gateway = QueryGateway(*[answer] * len(world.ctx.stk_query_delays_s))
    for _ in world.ctx.stk_query_delays_s:
        result = payments.check_payment(world.ctx, gateway, payment.id)
    closed = world.payment(payment.id)
    assert result is None and (closed.status, closed.result_code) == (
        PaymentStatus.FAILED, "UNRESOLVED")
    assert world.fakes.notifier.alerts and world.fakes.notifier.alerts[0][1]["payment"] == \
        payment.id
    assert world.deal(deal.id).status.value == "pending"
    late = world.settle(world.success(closed))  # and then it was paid, as M-Pesa confirms
    assert late.outcome is PaymentOutcome.LATE_CREDIT and world.payment(payment.id).late
    assert world.mpesa.queried == [closed.checkout_request_id]
    assert world.deal(deal.id).status.value == "active"
    assert len(world.fakes.notifier.alerts) == 2


def test_a_failure_answer_closes_the_payment_and_tells_the_buyer(world: World) -> None:
    deal, payment = world.pending_payment()
    closed = payments.check_payment(world.ctx, QueryGateway(StkStatus(False, "1032", "cancelled")),
                                    payment.id)
    assert closed is not None and (closed.status, closed.result_code) == (
        PaymentStatus.FAILED, "1032")
    assert "payment_failed" in world.fakes.notifications.kinds_for(world.buyer.id)
    assert world.deal(deal.id).status.value == "pending"


def test_a_second_prompt_to_a_busy_phone_waits(world: World) -> None:
    first = world.request(world.open_deal(), "k1", "h1")
    world.push(first)
    second = world.request(world.open_deal(), "k2", "h2")
    with pytest.raises(PhoneBusy):
        payments.send_stk_push(world.ctx, QueryGateway(), second.id)  # type: ignore[arg-type]
    assert world.payment(second.id).push_started_at is None and second.phone == PHONE


def test_a_callback_stored_but_never_enqueued_is_processed_by_the_janitor(world: World) -> None:
    inbox = FakeInbox()
    stuck = inbox.put('{"Body": {}}', world.fakes.clock.now())
    done = inbox.put('{"Body": {}}', world.fakes.clock.now())
    inbox.mark(done, "processed", "credited", world.fakes.clock.now())
    now = world.fakes.clock.now()
    assert reconcile.requeue_stale_callbacks(world.ctx, inbox, now + timedelta(seconds=30)) == 0
    assert reconcile.requeue_stale_callbacks(world.ctx, inbox, now + timedelta(seconds=61)) == 1
    assert world.fakes.tasks.callbacks == [stuck]


def test_a_payout_nobody_answers_about_raises_one_alert_and_is_still_asked_about(
    world: World,
) -> None:
    world.seller_wallet(2000)
    payout = world.withdraw(500)
    gateway = FakeB2c()
    payouts.send_b2c(world.ctx, gateway, payout.id)
    for _ in range(12):
        payouts.check_status(world.ctx, gateway, payout.id)
    assert [a[1]["payout"] for a in world.fakes.notifier.alerts] == [payout.id]
    assert world.payout(payout.id).status_checks == 12
    assert world.payout(payout.id).status is PayoutStatus.PENDING


def test_two_workers_pushing_to_one_phone_at_once_send_one_prompt(world: World) -> None:
    """Two payments for one phone, pushed by two threads whose steps interleave: the second
    runs whole while the first stands between looking for an open prompt and claiming its own.
    Claiming first and looking after means one of them always sees the other."""
    first = world.request(world.open_deal(), "k1", "h1")
    second = world.request(world.open_deal(), "k2", "h2")
    gateway = ScriptedGateway()
    repository = world.fakes.payments
    look = repository.open_push_to
    outcome: list[object] = []

    def interleaved(phone: str, other_than: str) -> Payment | None:
        found = look(phone, other_than)
        if other_than == first.id and not outcome:  # the other thread runs now
            try:
                outcome.append(payments.send_stk_push(world.ctx, gateway, second.id))
            except PhoneBusy as busy:
                outcome.append(busy)
        return found

    repository.open_push_to = interleaved  # type: ignore[method-assign]
    payments.send_stk_push(world.ctx, gateway, first.id)  # it saw nothing: it sends
    assert len(gateway.pushed) == 1, gateway.pushed  # one prompt on the phone, not two
    assert isinstance(outcome[0], PhoneBusy)  # the other saw the first's claim and stood back
    waiting = [p for p in (world.payment(first.id), world.payment(second.id))
               if p.status is PaymentStatus.QUEUED]
    assert len(waiting) == 1 and waiting[0].push_started_at is None  # the other waits, unclaimed
