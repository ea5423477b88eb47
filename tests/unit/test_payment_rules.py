"""What an M-Pesa result means for a payment, decided without touching anything."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.errors import IllegalTransitionError
from domain.mpesa import StkResult
from domain.payments import Payment, PaymentStatus, Verdict, mask_phone

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def _pending() -> Payment:
    queued = Payment("p1", "d1", "b", 1500, "254708374149", NOW, NOW, "k", "h")
    return queued.pushing(NOW).accepted("m1", "ws_CO_1", NOW)


def _result(**changes: object) -> StkResult:
    good = StkResult("ws_CO_1", "m1", "0", "ok", Decimal("1500.00"), "SG632NMUAB", "254708374149")
    return dataclasses.replace(good, **changes)  # type: ignore[arg-type]


def test_a_matching_success_is_credited() -> None:
    payment = _pending()
    assert payment.judge(_result()) is Verdict.CREDIT
    paid = payment.settled(_result(), NOW)
    assert (paid.status, paid.receipt, paid.paid_at, paid.result_code) == (
        PaymentStatus.SUCCESS, "SG632NMUAB", NOW, "0")
    assert not paid.is_open and paid.version == payment.version + 1


def test_a_failure_code_fails_the_payment() -> None:
    result = _result(result_code="1032", result_desc="Request cancelled by user", amount=None,
                     receipt=None, phone=None)
    assert _pending().judge(result) is Verdict.FAIL
    failed = _pending().settled(result, NOW)
    assert failed.status is PaymentStatus.FAILED and failed.result_code == "1032"


@pytest.mark.parametrize("changes", [
    {"amount": Decimal("1499")}, {"amount": Decimal("1500.50")}, {"amount": None},
    {"phone": "254700000009"}, {"checkout_request_id": "ws_CO_other"}, {"receipt": None},
])
def test_a_success_that_does_not_match_what_we_asked_moves_nothing(changes: dict) -> None:
    assert _pending().judge(_result(**changes)) is Verdict.MISMATCH


def test_a_settled_payment_takes_no_second_result() -> None:
    paid = _pending().settled(_result(), NOW)
    assert paid.judge(_result()) is Verdict.ALREADY_FINAL
    with pytest.raises(IllegalTransitionError):
        paid.settled(_result(), NOW)


def test_a_push_is_claimed_once() -> None:
    queued = Payment("p1", "d1", "b", 1500, "254708374149", NOW, NOW, "k", "h")
    claimed = queued.pushing(NOW)
    assert claimed.push_started_at == NOW and claimed.version == 2
    with pytest.raises(IllegalTransitionError):
        claimed.pushing(NOW)
    assert claimed.push_withdrawn(NOW).pushing(NOW).version == 4


def test_phones_are_masked_as_the_contract_shows() -> None:
    assert mask_phone("254712345678") == "2547****678"
    assert mask_phone("254") == "****"
