"""Every (state, trigger) pair of the deal and payment machines, allowed or refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from domain.deals import Deal, DealStatus, Trigger, next_status
from domain.errors import IllegalTransitionError
from domain.payments import PAYMENT_TRANSITIONS, PaymentStatus, PaymentTrigger

D, T = DealStatus, Trigger
# Written out independently of domain/deals.py: a change to either must be deliberate.
EXPECTED_DEAL = {
    (D.PENDING, T.UPDATE): D.PENDING, (D.PENDING, T.PAY): D.PENDING,
    (D.PENDING, T.FUND): D.ACTIVE, (D.PENDING, T.CANCEL): D.CANCELLED,
    (D.PENDING, T.EXPIRE): D.CANCELLED,
    (D.ACTIVE, T.DELIVER): D.ACTIVE, (D.ACTIVE, T.RELEASE): D.COMPLETED,
    (D.ACTIVE, T.AUTO_RELEASE): D.COMPLETED, (D.ACTIVE, T.DISPUTE): D.DISPUTED,
    (D.DISPUTED, T.RESOLVE_RELEASE): D.COMPLETED, (D.DISPUTED, T.RESOLVE_REFUND): D.CANCELLED,
    (D.DISPUTED, T.RESOLVE_SPLIT): D.COMPLETED,
}
P, PT = PaymentStatus, PaymentTrigger
EXPECTED_PAYMENT = {
    (P.QUEUED, PT.ACCEPT): P.PENDING, (P.QUEUED, PT.REJECT): P.FAILED,
    (P.PENDING, PT.SUCCEED): P.SUCCESS, (P.PENDING, PT.FAIL): P.FAILED,
}
NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(("status", "trigger"), list(itertools.product(DealStatus, Trigger)))
def test_every_deal_state_and_trigger_pair_is_allowed_or_refused_as_designed(
    status: DealStatus, trigger: Trigger,
) -> None:
    if (status, trigger) in EXPECTED_DEAL:
        assert next_status(status, trigger) is EXPECTED_DEAL[(status, trigger)]
    else:
        with pytest.raises(IllegalTransitionError) as refused:
            next_status(status, trigger)
        assert refused.value.state == status.value and refused.value.trigger == trigger.value


@pytest.mark.parametrize(("status", "trigger"),
                         list(itertools.product(PaymentStatus, PaymentTrigger)))
def test_every_payment_state_and_trigger_pair_is_allowed_or_refused_as_designed(
    status: PaymentStatus, trigger: PaymentTrigger,
) -> None:
    assert PAYMENT_TRANSITIONS.get((status, trigger)) == EXPECTED_PAYMENT.get((status, trigger))


def test_terminal_deal_states_accept_no_trigger_at_all() -> None:
    for status in (D.COMPLETED, D.CANCELLED):
        for trigger in Trigger:
            with pytest.raises(IllegalTransitionError):
                next_status(status, trigger)


def test_applying_a_trigger_bumps_the_version_and_records_the_event() -> None:
    deal = Deal("d1", "Phone", "Used", 1500, "b", "s", NOW, NOW)
    later = datetime(2026, 11, 25, tzinfo=UTC)
    funded = deal.apply(Trigger.FUND, "system", later, "funded", "receipt X", funded_by="p1")
    assert (funded.status, funded.version, funded.updated_at) == (D.ACTIVE, 2, later)
    assert funded.funded_by == "p1" and deal.status is D.PENDING  # the original is untouched
    event = funded.last_event
    assert event is not None
    assert (event.seq, event.status, event.from_status) == (2, D.ACTIVE, D.PENDING)
    assert (event.event, event.actor, event.note, event.timestamp) == (
        "funded", "system", "receipt X", later)


def test_an_illegal_trigger_leaves_the_deal_unchanged() -> None:
    deal = Deal("d1", "Phone", "Used", 1500, "b", "s", NOW, NOW)
    with pytest.raises(IllegalTransitionError):
        deal.apply(Trigger.RELEASE, "b", NOW, "released")
    assert deal.status is D.PENDING and deal.version == 1
