"""Every (state, trigger) pair of the deal and payment machines, allowed or refused."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, timedelta

import pytest

from domain.deals import Deal, DealStatus, Trigger, next_status
from domain.errors import Conflict, IllegalTransitionError
from domain.payments import Payment, PaymentStatus, PaymentTrigger

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)

D, T = DealStatus, Trigger
# Written out by hand from the design, not read from domain/deals.py: changing either one
# must be a deliberate change to both.
EXPECTED_DEAL: dict[tuple[DealStatus, Trigger], DealStatus] = {
    (D.PENDING, T.UPDATE): D.PENDING,
    (D.PENDING, T.PAY): D.PENDING,
    (D.PENDING, T.FUND): D.ACTIVE,
    (D.PENDING, T.CANCEL): D.CANCELLED,
    (D.PENDING, T.EXPIRE): D.CANCELLED,
    (D.ACTIVE, T.DELIVER): D.ACTIVE,
    (D.ACTIVE, T.RELEASE): D.COMPLETED,
    (D.ACTIVE, T.AUTO_RELEASE): D.COMPLETED,
    (D.ACTIVE, T.DISPUTE): D.DISPUTED,
    (D.DISPUTED, T.RESOLVE_RELEASE): D.COMPLETED,
    (D.DISPUTED, T.RESOLVE_REFUND): D.CANCELLED,
    (D.DISPUTED, T.RESOLVE_SPLIT): D.COMPLETED,
    # The receipt of a payment M-Pesa confirmed earlier may reach a deal in any funded state.
    (D.ACTIVE, T.RECEIPT): D.ACTIVE,
    (D.COMPLETED, T.RECEIPT): D.COMPLETED,
    (D.DISPUTED, T.RECEIPT): D.DISPUTED,
    (D.CANCELLED, T.RECEIPT): D.CANCELLED,
}
P, PT = PaymentStatus, PaymentTrigger
EXPECTED_PAYMENT: dict[tuple[PaymentStatus, PaymentTrigger], PaymentStatus] = {
    (P.QUEUED, PT.ACCEPT): P.PENDING,
    (P.QUEUED, PT.REJECT): P.FAILED,
    (P.PENDING, PT.SUCCEED): P.SUCCESS,
    (P.PENDING, PT.FAIL): P.FAILED,
    (P.QUEUED, PT.LOSE): P.PENDING,
    (P.FAILED, PT.LATE_SUCCEED): P.SUCCESS,
}
DEAL_PAIRS = list(itertools.product(DealStatus, Trigger))
PAYMENT_PAIRS = list(itertools.product(PaymentStatus, PaymentTrigger))


def _deal(status: DealStatus = D.PENDING) -> Deal:
    return Deal("d1", "Phone", "A used phone", 1500, "b1", "s1", NOW, NOW, status=status)


def test_the_tables_cover_the_whole_product_of_states_and_triggers() -> None:
    assert len(DEAL_PAIRS) == 5 * 13 and len(PAYMENT_PAIRS) == 4 * 6
    assert set(EXPECTED_DEAL) <= set(DEAL_PAIRS)
    assert set(EXPECTED_PAYMENT) <= set(PAYMENT_PAIRS)


@pytest.mark.parametrize(("status", "trigger"), DEAL_PAIRS)
def test_every_deal_state_and_trigger_pair_leads_where_the_design_says_or_is_refused(
    status: DealStatus, trigger: Trigger,
) -> None:
    if (status, trigger) in EXPECTED_DEAL:
        assert next_status(status, trigger) is EXPECTED_DEAL[(status, trigger)]
        return
    with pytest.raises(IllegalTransitionError) as refused:
        next_status(status, trigger)
    assert (refused.value.state, refused.value.trigger) == (status.value, trigger.value)
    assert isinstance(refused.value, Conflict)
    assert refused.value.message == f"cannot {trigger.value} a deal that is {status.value}"


@pytest.mark.parametrize(("status", "trigger"), DEAL_PAIRS)
def test_deal_apply_follows_the_same_table_for_every_pair(
    status: DealStatus, trigger: Trigger,
) -> None:
    deal = _deal(status)
    if (status, trigger) not in EXPECTED_DEAL:
        with pytest.raises(IllegalTransitionError):
            deal.apply(trigger, "b1", LATER, "something")
        return
    after = deal.apply(trigger, "b1", LATER, "something")
    assert after.status is EXPECTED_DEAL[(status, trigger)]
    assert after.last_event is not None and after.last_event.from_status is status


def test_apply_bumps_the_version_stamps_the_time_and_records_the_event() -> None:
    deal = _deal()
    funded = deal.apply(Trigger.FUND, "system", LATER, "funded", "receipt X", funded_by="p1")
    assert (funded.status, funded.version, funded.updated_at) == (D.ACTIVE, 2, LATER)
    assert funded.funded_by == "p1" and funded.created_at == NOW
    event = funded.last_event
    assert event is not None
    assert (event.deal_id, event.seq, event.status, event.from_status) == (
        "d1", 2, D.ACTIVE, D.PENDING)
    assert (event.event, event.actor, event.note, event.timestamp) == (
        "funded", "system", "receipt X", LATER)
    assert (deal.status, deal.version, deal.last_event) == (D.PENDING, 1, None)  # untouched


def test_a_walk_through_the_machine_numbers_its_events_by_version() -> None:
    deal = _deal()
    walk = [T.UPDATE, T.PAY, T.FUND, T.DELIVER, T.DISPUTE, T.RESOLVE_REFUND]
    seen: list[tuple[int, DealStatus | None, DealStatus]] = []
    for step, trigger in enumerate(walk, start=1):
        before = deal.status
        deal = deal.apply(trigger, "b1", NOW + timedelta(minutes=step), trigger.value)
        assert deal.last_event is not None
        seen.append((deal.last_event.seq, deal.last_event.from_status, deal.last_event.status))
        assert deal.last_event.from_status is before and deal.version == step + 1
    assert seen == [(2, D.PENDING, D.PENDING), (3, D.PENDING, D.PENDING),
                    (4, D.PENDING, D.ACTIVE), (5, D.ACTIVE, D.ACTIVE),
                    (6, D.ACTIVE, D.DISPUTED), (7, D.DISPUTED, D.CANCELLED)]


def test_a_refused_trigger_leaves_the_deal_as_it_was() -> None:
    deal = _deal()
    with pytest.raises(IllegalTransitionError):
        deal.apply(Trigger.RELEASE, "b1", LATER, "released")
    assert (deal.status, deal.version, deal.updated_at) == (D.PENDING, 1, NOW)


@pytest.mark.parametrize("status", [D.COMPLETED, D.CANCELLED])
def test_completed_and_cancelled_deals_take_no_trigger_but_a_late_receipt(
    status: DealStatus,
) -> None:
    refused = 0
    for trigger in Trigger:
        if trigger is T.RECEIPT:
            assert next_status(status, trigger) is status
            continue
        with pytest.raises(IllegalTransitionError):
            next_status(status, trigger)
        refused += 1
    assert refused == len(Trigger) - 1 == 12


# The payment machine's table is driven through the one gate every public method goes through;
# how ``confirmed`` picks its trigger is tested after it.
def _payment(status: PaymentStatus) -> Payment:
    base = Payment("p1", "d1", "b1", 1500, "254708374149", NOW, NOW, "k", "h",
                   checkout_request_id="ws_CO_1")
    return dataclasses.replace(base, status=status)


@pytest.mark.parametrize(("status", "trigger"), PAYMENT_PAIRS)
def test_every_payment_state_and_trigger_pair_leads_where_the_design_says_or_is_refused(
    status: PaymentStatus, trigger: PaymentTrigger,
) -> None:
    payment = _payment(status)
    if (status, trigger) not in EXPECTED_PAYMENT:
        with pytest.raises(IllegalTransitionError) as refused:
            payment._move(trigger, LATER)
        assert (refused.value.state, refused.value.trigger) == (status.value, trigger.value)
        assert refused.value.message.endswith(f"a payment that is {status.value}")
        return
    after = payment._move(trigger, LATER)
    assert after.status is EXPECTED_PAYMENT[(status, trigger)]
    assert (after.version, after.updated_at) == (payment.version + 1, LATER)


# The public methods and the trigger each one fires (``confirmed`` by the payment's status).
DRIVE = {
    "accepted": (lambda p: p.accepted("m1", "ws_CO_1", LATER), PT.ACCEPT),
    "rejected": (lambda p: p.rejected("400.002.02", "Invalid PhoneNumber", LATER), PT.REJECT),
    "confirmed failure": (lambda p: p.confirmed("1032", "Request cancelled by user", LATER),
                          PT.FAIL),
    "lost": (lambda p: p.lost(LATER, None), PT.LOSE),
}


@pytest.mark.parametrize("status", list(PaymentStatus))
@pytest.mark.parametrize("method", list(DRIVE))
def test_each_public_method_fires_its_trigger_from_every_state(
    status: PaymentStatus, method: str,
) -> None:
    drive, trigger = DRIVE[method]
    payment = _payment(status)
    if (status, trigger) not in EXPECTED_PAYMENT:
        with pytest.raises(IllegalTransitionError) as refused:
            drive(payment)
        assert (refused.value.state, refused.value.trigger) == (status.value, trigger.value)
        return
    after = drive(payment)
    assert after.status is EXPECTED_PAYMENT[(status, trigger)]
    assert (after.version, after.updated_at) == (payment.version + 1, LATER)


@pytest.mark.parametrize(("status", "fired", "late"), [
    (P.QUEUED, PT.SUCCEED, None), (P.PENDING, PT.SUCCEED, False),
    (P.SUCCESS, PT.SUCCEED, None), (P.FAILED, PT.LATE_SUCCEED, True)])
def test_a_confirmed_success_is_a_late_success_only_for_a_payment_closed_as_failed(
    status: PaymentStatus, fired: PaymentTrigger, late: bool | None,
) -> None:
    payment = _payment(status)
    if late is None:
        with pytest.raises(IllegalTransitionError) as refused:
            payment.confirmed("0", "ok", LATER, "SG632NMUAB")
        assert (refused.value.state, refused.value.trigger) == (status.value, fired.value)
        return
    after = payment.confirmed("0", "ok", LATER, "SG632NMUAB")
    assert after.status is EXPECTED_PAYMENT[(status, fired)] is P.SUCCESS
    assert (after.late, after.receipt, after.paid_at, after.result_code) == (
        late, "SG632NMUAB", LATER, "0")


@pytest.mark.parametrize("status", list(PaymentStatus))
def test_only_a_queued_payment_may_claim_its_push(status: PaymentStatus) -> None:
    payment = _payment(status)
    if status is P.QUEUED:
        assert payment.pushing(LATER).push_started_at == LATER
    else:
        with pytest.raises(IllegalTransitionError):
            payment.pushing(LATER)


@pytest.mark.parametrize(("status", "is_open"), [
    (P.QUEUED, True), (P.PENDING, True), (P.SUCCESS, False), (P.FAILED, False)])
def test_queued_and_pending_payments_are_open_and_the_rest_are_final(
    status: PaymentStatus, is_open: bool,
) -> None:
    assert _payment(status).is_open is is_open
