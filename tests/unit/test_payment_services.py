"""Requesting a payment and sending its STK push, against fakes."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from domain.deals import DealStatus, Trigger
from domain.errors import ConcurrencyError, Conflict, Forbidden, IdempotencyMismatch, NotFound
from domain.mpesa import account_reference
from domain.payments import PaymentStatus
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable, StkAccepted
from domain.services import accounts, deals, payments
from tests.unit.fakes import ScriptedGateway
from tests.unit.world import PHONE, World


def test_paying_records_a_queued_payment_and_enqueues_exactly_one_push(world: World) -> None:
    deal = world.open_deal(1500)
    payment = world.request(deal, "key-1", "hash-1")
    assert (payment.status, payment.amount, payment.phone, payment.deal_id, payment.payer_id) == (
        PaymentStatus.QUEUED, 1500, PHONE, deal.id, world.buyer.id)
    assert (payment.idempotency_key, payment.request_hash) == ("key-1", "hash-1")
    assert payment.checkout_request_id is None and payment.push_started_at is None
    assert world.fakes.payments.rows == {payment.id: payment}
    assert world.fakes.tasks.stk_pushes == [payment.id]


def test_paying_records_a_payment_requested_event_and_keeps_the_deal_pending(
    world: World,
) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    after = world.deal(deal.id)
    assert (after.status, after.version) == (DealStatus.PENDING, 2)
    event = deals.timeline(world.ctx, deal)[-1]
    assert (event.seq, event.event, event.actor, event.note) == (
        2, "payment_requested", world.buyer.id, f"payment {payment.id}")
    assert world.fakes.notifier.deal_events[-1] == ("transaction:updated", deal.id, "pending")


def test_the_same_key_and_body_return_the_same_payment_and_enqueue_nothing_new(
    world: World,
) -> None:
    deal = world.open_deal()
    first = world.request(deal, "k1", "h1")
    again = world.request(deal, "k1", "h1")
    assert again == first
    assert world.fakes.tasks.stk_pushes == [first.id]
    assert len(world.fakes.payments.rows) == 1
    assert [e.event for e in deals.timeline(world.ctx, deal)] == ["created", "payment_requested"]


def test_the_same_key_with_another_body_is_refused(world: World) -> None:
    deal = world.open_deal()
    first = world.request(deal, "k1", "h1")
    with pytest.raises(IdempotencyMismatch) as refused:
        world.request(deal, "k1", "h2")
    assert refused.value.code == "IDEMPOTENCY_MISMATCH"
    assert world.fakes.payments.rows == {first.id: first}
    assert world.fakes.tasks.stk_pushes == [first.id]


def test_the_same_key_is_replayed_even_after_the_push_went_out(world: World) -> None:
    deal = world.open_deal()
    pushed = world.push(world.request(deal, "k1", "h1"))
    assert world.request(deal, "k1", "h1") == pushed
    assert world.fakes.tasks.stk_pushes == [pushed.id]


def test_a_second_key_while_a_payment_is_open_is_a_conflict(world: World) -> None:
    deal = world.open_deal()
    first = world.request(deal, "k1", "h1")
    with pytest.raises(Conflict, match="already in progress"):
        world.request(deal, "k2", "h2")
    world.push(first)
    with pytest.raises(Conflict):
        world.request(deal, "k3", "h3")
    assert list(world.fakes.payments.rows) == [first.id]
    assert world.fakes.tasks.stk_pushes == [first.id]


def test_only_the_buyer_pays(world: World) -> None:
    deal = world.open_deal()
    with pytest.raises(Forbidden):
        payments.request_payment(world.ctx, world.seller, deal.id, PHONE, "k1", "h1")
    admin = accounts.create_admin(world.ctx, "ops@example.com", "an operator password")
    with pytest.raises(Forbidden):
        payments.request_payment(world.ctx, admin, deal.id, PHONE, "k1", "h1")
    stranger = world.register("x@example.com")
    with pytest.raises(NotFound):
        payments.request_payment(world.ctx, stranger, deal.id, PHONE, "k1", "h1")
    assert world.fakes.payments.rows == {} and world.fakes.tasks.stk_pushes == []


@pytest.mark.parametrize("trigger", [Trigger.CANCEL, Trigger.EXPIRE, Trigger.FUND])
def test_a_deal_that_is_no_longer_pending_cannot_be_paid(world: World, trigger: Trigger) -> None:
    deal = world.open_deal()
    moved = deal.apply(trigger, "system", world.fakes.clock.now(), trigger.value)
    world.fakes.deals.save(moved, expected_version=deal.version)
    with pytest.raises(Conflict, match="cannot be paid"):
        world.request(deal)
    assert world.fakes.payments.rows == {} and world.fakes.tasks.stk_pushes == []


def test_a_deal_changed_while_paying_closes_the_attempt_and_enqueues_nothing(
    world: World,
) -> None:
    deal = world.open_deal()
    world.fakes.deals.fail_next_save = ConcurrencyError("the deal changed meanwhile")
    with pytest.raises(Conflict, match="try again"):
        world.request(deal, "k1", "h1")
    [payment] = world.fakes.payments.rows.values()
    assert (payment.status, payment.result_code) == (PaymentStatus.FAILED, "DEAL_CHANGED")
    assert world.fakes.tasks.stk_pushes == []
    assert world.request(deal, "k2", "h2").status is PaymentStatus.QUEUED  # the slot is free


def test_an_accepted_push_makes_the_payment_pending_with_its_checkout_id(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    gateway = ScriptedGateway(StkAccepted("29115-1", "ws_CO_191220191020363925"))
    pushed = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert pushed is not None and pushed == world.payment(payment.id)
    assert (pushed.status, pushed.merchant_request_id, pushed.checkout_request_id) == (
        PaymentStatus.PENDING, "29115-1", "ws_CO_191220191020363925")
    assert pushed.push_started_at == world.fakes.clock.now()
    # The prompt shows the payment's own random reference, derivable from nothing users see.
    assert gateway.pushed == [(payment.id, payment.account_reference, 1500, PHONE)]
    assert payment.account_reference.startswith("ESC") and len(payment.account_reference) == 12
    assert payment.account_reference != account_reference(deal.id)
    assert world.fakes.notifier.payment_events == [(payment.id, "pending", deal.id)]


@pytest.mark.parametrize(("error", "code"), [
    (GatewayRejected("400.002.02", "Bad Request - Invalid PhoneNumber"), "400.002.02"),
    (GatewayRejected("500.001.1001", "Wrong credentials"), "500.001.1001"),
])
def test_a_push_that_daraja_refuses_closes_the_attempt(
    world: World, error: Exception, code: str,
) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    gateway = ScriptedGateway(error)
    failed = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert failed is not None and failed == world.payment(payment.id)
    assert (failed.status, failed.result_code, failed.checkout_request_id) == (
        PaymentStatus.FAILED, code, None)
    assert len(gateway.pushed) == 1
    assert world.request(deal, "k2", "h2").status is PaymentStatus.QUEUED  # may pay again


def test_a_push_that_goes_unanswered_waits_with_its_outcome_unknown(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    gateway = ScriptedGateway(GatewayOutcomeUnknown("read timeout"))
    waiting = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert waiting is not None and waiting == world.payment(payment.id)
    assert (waiting.status, waiting.outcome_unknown, waiting.checkout_request_id) == (
        PaymentStatus.PENDING, True, None)
    assert waiting.next_check_at == world.fakes.clock.now() + timedelta(seconds=60)
    assert len(gateway.pushed) == 1


def test_a_transient_refusal_releases_the_claim_so_the_retry_pushes(world: World) -> None:
    payment = world.request(world.open_deal())
    gateway = ScriptedGateway(GatewayUnavailable("spike arrest"))
    with pytest.raises(GatewayUnavailable):
        payments.send_stk_push(world.ctx, gateway, payment.id)
    waiting = world.payment(payment.id)
    assert (waiting.status, waiting.push_started_at) == (PaymentStatus.QUEUED, None)
    retried = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert retried is not None and retried.status is PaymentStatus.PENDING
    assert len(gateway.pushed) == 2


def test_a_redelivered_task_after_a_crash_mid_push_never_pushes_again(world: World) -> None:
    payment = world.request(world.open_deal())
    claimed = payment.pushing(world.fakes.clock.now())  # a worker claimed it, then died
    world.fakes.payments.save(claimed, expected_version=payment.version)
    gateway = ScriptedGateway()
    redelivered = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert redelivered is not None
    assert (redelivered.status, redelivered.outcome_unknown) == (PaymentStatus.PENDING, True)
    assert gateway.pushed == []


@pytest.mark.parametrize("stage", ["pending", "failed"])
def test_a_payment_that_is_not_queued_is_never_pushed(world: World, stage: str) -> None:
    _, payment = world.pending_payment()
    if stage == "failed":
        world.settle(world.failure(payment))
    before = world.payment(payment.id)
    gateway = ScriptedGateway()
    assert payments.send_stk_push(world.ctx, gateway, payment.id) == before
    assert gateway.pushed == [] and world.payment(payment.id) == before


def test_an_unknown_payment_id_is_ignored(world: World) -> None:
    gateway = ScriptedGateway()
    assert payments.send_stk_push(world.ctx, gateway, "no-such-payment") is None
    assert gateway.pushed == []


def test_a_deal_that_stopped_being_payable_before_the_push_fails_it_unsent(world: World) -> None:
    deal = world.open_deal()
    payment = world.request(deal)
    current = world.deal(deal.id)
    expired = current.apply(Trigger.EXPIRE, "system", world.fakes.clock.now(), "expired")
    world.fakes.deals.save(expired, expected_version=current.version)
    gateway = ScriptedGateway()
    failed = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert failed is not None and (failed.status, failed.result_code) == (
        PaymentStatus.FAILED, "DEAL_NOT_PAYABLE")
    assert gateway.pushed == []


def test_payments_are_listed_and_shown_only_to_the_parties_and_admins(world: World) -> None:
    deal, payment = world.pending_payment()
    assert payments.payments_of(world.ctx, world.seller, deal.id) == [payment]
    assert payments.visible_payment(world.ctx, world.buyer, payment.id) == payment
    stranger = world.register("x@example.com")
    with pytest.raises(NotFound):
        payments.visible_payment(world.ctx, stranger, payment.id)
    with pytest.raises(NotFound):
        payments.payments_of(world.ctx, stranger, deal.id)
    with pytest.raises(NotFound):
        payments.visible_payment(world.ctx, world.buyer, "no-such-payment")


def test_a_deal_never_moved_on_is_not_paid_twice_when_its_payment_succeeded(
    world: World,
) -> None:
    """The API died between inserting the payment and moving the deal on: the deal is still at
    its first version, the janitor pushed the payment and the buyer paid. A second request must
    see that success, not push again."""
    deal = world.open_deal(1500)
    other = world.request(world.open_deal(1500), "k0", "h0")  # a payment, to copy its shape
    paid = dataclasses.replace(other, id="p-stranded", deal_id=deal.id, idempotency_key="k9",
                               status=PaymentStatus.SUCCESS, receipt="RCPT0001")
    world.fakes.payments.rows[paid.id] = paid  # its deal not funded yet (the sweep will)
    assert world.fakes.deals.get(deal.id).version == 1  # type: ignore[union-attr]
    with pytest.raises(Conflict, match="succeeded"):
        world.request(deal, "k2", "h2")
    assert world.fakes.tasks.stk_pushes == [other.id]  # nothing more pushed


def test_a_failed_look_for_another_prompt_releases_the_claim(world: World) -> None:
    """Nothing was sent: the retry must be free to push, not take the payment for a lost push."""
    payment = world.request(world.open_deal(), "k1", "h1")

    def down(phone: str, other_than: str) -> None:
        raise ConnectionError("the database went away")

    world.fakes.payments.open_push_to = down  # type: ignore[method-assign,assignment]
    gateway = ScriptedGateway()
    with pytest.raises(ConnectionError):
        payments.send_stk_push(world.ctx, gateway, payment.id)
    after = world.payment(payment.id)
    assert gateway.pushed == [] and after.push_started_at is None
    assert after.status is PaymentStatus.QUEUED and not after.outcome_unknown
