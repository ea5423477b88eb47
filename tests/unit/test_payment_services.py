"""Requesting, pushing and settling STK payments, against fakes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from domain import ledger
from domain.deals import Deal, DealStatus, Trigger
from domain.errors import Conflict, Forbidden, IdempotencyMismatch
from domain.mpesa import StkResult
from domain.payments import PaymentStatus
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from domain.services import deals, payments
from domain.services.deals import DealTerms
from domain.services.payments import Outcome
from tests.unit.conftest import World
from tests.unit.fakes import ScriptedGateway

PHONE = "254708374149"


def _deal(world: World, amount: int = 1500) -> Deal:
    terms = DealTerms("Phone", "Used", amount, seller_email=world.seller.email)
    return deals.open_deal(world.ctx, world.buyer.id, terms)


def _pushed(world: World, deal: Deal) -> str:
    payment = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    payments.send_stk_push(world.ctx, ScriptedGateway(), payment.id)
    return payment.id


def _success(world: World, payment_id: str, **changes: object) -> StkResult:
    payment = world.ctx.payments.get(payment_id)
    assert payment is not None and payment.checkout_request_id
    result = StkResult(payment.checkout_request_id, "m-1", "0", "ok",
                       Decimal(payment.amount), "SG632NMUAB", PHONE)
    return dataclasses.replace(result, **changes)  # type: ignore[arg-type]


def test_paying_records_a_queued_payment_and_enqueues_one_push(world: World) -> None:
    deal = _deal(world)
    payment = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    assert (payment.status, payment.amount, payment.phone) == (PaymentStatus.QUEUED, 1500, PHONE)
    assert world.ctx.tasks.stk_pushes == [payment.id]  # type: ignore[attr-defined]
    events = [e.event for e in deals.timeline(world.ctx, deal)]
    assert events == ["created", "payment_requested"]


def test_the_same_key_returns_the_same_payment_and_another_body_is_refused(
    world: World,
) -> None:
    deal = _deal(world)
    first = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    again = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    assert again == first
    assert world.ctx.tasks.stk_pushes == [first.id]  # type: ignore[attr-defined]
    with pytest.raises(IdempotencyMismatch):
        payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "other")
    with pytest.raises(Conflict):
        payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k2", "h2")


def test_only_the_buyer_pays_and_only_a_pending_deal(world: World) -> None:
    deal = _deal(world)
    with pytest.raises(Forbidden):
        payments.request_payment(world.ctx, world.seller, deal.id, PHONE, "k1", "h1")
    deals.cancel_deal(world.ctx, world.buyer, deal.id)
    with pytest.raises(Conflict):
        payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")


@pytest.mark.parametrize(("answer", "status", "code"), [
    (None, PaymentStatus.PENDING, None),
    (GatewayRejected("400.002.02", "Bad Request - Invalid PhoneNumber"), PaymentStatus.FAILED,
     "400.002.02"),
    (GatewayOutcomeUnknown("read timeout"), PaymentStatus.FAILED, "OUTCOME_UNKNOWN"),
])
def test_the_push_records_what_daraja_answered(world: World, answer: object,
                                                status: PaymentStatus, code: str | None) -> None:
    deal = _deal(world)
    payment = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    gateway = ScriptedGateway(*([answer] if answer is not None else []))
    updated = payments.send_stk_push(world.ctx, gateway, payment.id)
    assert updated is not None and (updated.status, updated.result_code) == (status, code)
    assert len(gateway.pushed) == 1


def test_a_transient_refusal_is_retried_and_a_crashed_push_is_never_resent(world: World) -> None:
    deal = _deal(world)
    payment = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k1", "h1")
    gateway = ScriptedGateway(GatewayUnavailable("spike arrest"))
    with pytest.raises(GatewayUnavailable):
        payments.send_stk_push(world.ctx, gateway, payment.id)
    assert payments.send_stk_push(world.ctx, gateway, payment.id).status is PaymentStatus.PENDING
    assert len(gateway.pushed) == 2

    other = _deal(world)
    crashed = payments.request_payment(world.ctx, world.buyer, other.id, PHONE, "k2", "h2")
    claimed = crashed.pushing(world.ctx.clock.now())  # a worker claimed it, then died
    world.ctx.payments.save(claimed, expected_version=crashed.version)
    redelivered = payments.send_stk_push(world.ctx, gateway, crashed.id)
    assert redelivered.result_code == "OUTCOME_UNKNOWN" and len(gateway.pushed) == 2


def test_a_confirmed_payment_funds_the_deal_once(world: World) -> None:
    deal = _deal(world)
    payment_id = _pushed(world, deal)
    first = payments.settle_stk_result(world.ctx, _success(world, payment_id))
    assert first.outcome is Outcome.CREDITED
    funded = world.ctx.deals.get(deal.id)
    assert funded is not None and funded.status is DealStatus.ACTIVE
    assert funded.funded_by == payment_id and funded.payment.reference == "SG632NMUAB"
    again = payments.settle_stk_result(world.ctx, _success(world, payment_id))
    assert again.outcome is Outcome.ALREADY_FINAL
    assert world.ctx.deals.get(deal.id) == funded
    assert [p.key for p in world.ctx.ledger.postings.values()] == [  # type: ignore[attr-defined]
        f"payment:{payment_id}:fund"]
    assert world.ctx.ledger.balance(ledger.escrow(deal.id)) == 1500
    assert [e.event for e in deals.timeline(world.ctx, deal)].count("funded") == 1


def test_a_failed_payment_leaves_the_deal_payable(world: World) -> None:
    deal = _deal(world)
    payment_id = _pushed(world, deal)
    failure = _success(world, payment_id, result_code="1032", amount=None, receipt=None)
    assert payments.settle_stk_result(world.ctx, failure).outcome is Outcome.FAILED
    assert world.ctx.deals.get(deal.id).status is DealStatus.PENDING  # type: ignore[union-attr]
    assert world.ctx.ledger.postings == {}  # type: ignore[attr-defined]
    retry = payments.request_payment(world.ctx, world.buyer, deal.id, PHONE, "k2", "h2")
    assert retry.status is PaymentStatus.QUEUED


@pytest.mark.parametrize("changes", [{"amount": Decimal("1")}, {"phone": "254700000009"}])
def test_a_mismatched_success_moves_no_money(world: World, changes: dict) -> None:
    deal = _deal(world)
    payment_id = _pushed(world, deal)
    outcome = payments.settle_stk_result(world.ctx, _success(world, payment_id, **changes))
    assert outcome.outcome is Outcome.MISMATCH
    assert world.ctx.payments.get(payment_id).status is PaymentStatus.PENDING  # type: ignore
    assert world.ctx.ledger.postings == {}  # type: ignore[attr-defined]


def test_an_unknown_checkout_request_is_reported(world: World) -> None:
    result = StkResult("ws_CO_nobody", None, "0", "ok", Decimal(1), "X", PHONE)
    assert payments.settle_stk_result(world.ctx, result).outcome is Outcome.UNKNOWN_PAYMENT


def test_money_for_a_deal_that_can_no_longer_take_it_goes_to_the_buyers_wallet(
    world: World,
) -> None:
    deal = _deal(world)
    payment_id = _pushed(world, deal)
    gone = world.ctx.deals.get(deal.id)
    assert gone is not None
    expired = gone.apply(Trigger.EXPIRE, "system", world.ctx.clock.now(), "expired")
    world.ctx.deals.save(expired, expected_version=gone.version)
    outcome = payments.settle_stk_result(world.ctx, _success(world, payment_id))
    assert outcome.outcome is Outcome.CREDITED_TO_WALLET
    book = world.ctx.ledger
    assert book.balance(ledger.wallet(world.buyer.id)) == 1500
    assert book.balance(ledger.escrow(deal.id)) == 0
    assert sum(ledger.balances(book.postings.values()).values()) == 0  # type: ignore
