"""What a callback's claim calls for, decided without touching anything, and how M-Pesa's own
answer (STK Query) moves a payment."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain.errors import IllegalTransitionError
from domain.mpesa import StkResult
from domain.payments import Payment, PaymentOutcome, PaymentStatus, mask_phone

NOW = datetime(2026, 11, 24, tzinfo=UTC)
LATER = NOW + timedelta(minutes=1)
PHONE = "254708374149"


def _queued() -> Payment:
    return Payment("p1", "d1", "b1", 1500, PHONE, NOW, NOW, "k", "h")


def _pending() -> Payment:
    return _queued().pushing(NOW).accepted("m1", "ws_CO_1", NOW)


def _result(**changes: object) -> StkResult:
    good = StkResult("ws_CO_1", "m1", "0", "ok", Decimal("1500.00"), "SG632NMUAB", PHONE,
                     "20261124030000")
    return dataclasses.replace(good, **changes)  # type: ignore[arg-type]


def test_accepting_the_push_stores_daraja_ids_and_makes_the_payment_pending() -> None:
    pending = _pending()
    assert (pending.status, pending.merchant_request_id, pending.checkout_request_id) == (
        PaymentStatus.PENDING, "m1", "ws_CO_1")
    assert pending.is_open and pending.version == 3  # claimed, then accepted


@pytest.mark.parametrize("amount", [Decimal("1500.00"), Decimal("1500"), Decimal("1.5E+3")])
def test_a_matching_success_is_a_claim_to_verify_with_mpesa(amount: Decimal) -> None:
    assert _pending().assess(_result(amount=amount)) is None


def test_a_success_without_a_phone_is_still_worth_verifying_when_the_rest_matches() -> None:
    assert _pending().assess(_result(phone=None)) is None


def test_settling_a_credited_success_records_the_receipt_and_the_time() -> None:
    payment = _pending()
    paid = payment.confirmed("0", "ok", LATER, "SG632NMUAB")
    assert (paid.status, paid.receipt, paid.paid_at, paid.result_code, paid.result_desc) == (
        PaymentStatus.SUCCESS, "SG632NMUAB", LATER, "0", "ok")
    assert not paid.is_open and paid.version == payment.version + 1
    assert payment.status is PaymentStatus.PENDING  # frozen: the original is untouched


@pytest.mark.parametrize("code", ["1032", "1037", "1", "2001", "SFC_IC0003", "9999"])
def test_a_failure_claim_is_verified_and_a_confirmed_failure_fails_the_payment(code: str) -> None:
    result = _result(result_code=code, result_desc="no", amount=None, receipt=None, phone=None)
    assert _pending().assess(result) is None
    failed = _pending().confirmed(code, "no", LATER)
    assert (failed.status, failed.result_code, failed.receipt, failed.paid_at) == (
        PaymentStatus.FAILED, code, None, None)


@pytest.mark.parametrize("changes", [
    {"amount": Decimal("1499")},
    {"amount": Decimal("1501.00")},
    {"amount": Decimal("1500.50")},
    {"amount": Decimal("1500.01")},
    {"amount": Decimal("-1500")},
    {"amount": Decimal("NaN")},
    {"amount": Decimal("Infinity")},
    {"amount": None},
    {"phone": "254700000009"},
    {"phone": "0708374149"},
    {"checkout_request_id": "ws_CO_other"},
    {"receipt": None},
    {"receipt": ""},
], ids=lambda changes: "-".join(f"{k}={v}" for k, v in changes.items()))
def test_a_success_that_does_not_match_what_we_asked_moves_nothing(
    changes: dict[str, object],
) -> None:
    assert _pending().assess(_result(**changes)) is PaymentOutcome.MISMATCH


def test_a_failure_for_another_checkout_request_is_a_mismatch_not_a_failure() -> None:
    result = _result(checkout_request_id="ws_CO_other", result_code="1032", amount=None)
    assert _pending().assess(result) is PaymentOutcome.MISMATCH


def test_a_result_for_a_payment_that_was_never_pushed_is_a_mismatch() -> None:
    assert _queued().assess(_result()) is PaymentOutcome.MISMATCH


def test_a_paid_payment_takes_no_second_result() -> None:
    settled = _pending().confirmed("0", "ok", LATER, "SG632NMUAB")
    assert settled.assess(_result()) is PaymentOutcome.REPEAT
    assert settled.assess(_result(result_code="1032")) is PaymentOutcome.CONTRADICTED
    assert settled.assess(_result(amount=Decimal(1))) is PaymentOutcome.MISMATCH
    assert settled.assess(_result(receipt="OTHER00000")) is PaymentOutcome.MISMATCH
    with pytest.raises(IllegalTransitionError):
        settled.confirmed("0", "ok", LATER, "SG632NMUAB")
    with pytest.raises(IllegalTransitionError):
        settled.confirmed("1032", "cancelled", LATER)


def test_a_failed_payment_claimed_paid_is_verified_and_a_confirmed_success_is_late() -> None:
    failed = _pending().confirmed("1037", "timeout", LATER)
    assert failed.assess(_result(result_code="1032")) is PaymentOutcome.REPEAT
    assert failed.assess(_result(amount=Decimal(1))) is PaymentOutcome.MISMATCH
    assert failed.assess(_result()) is None
    late = failed.confirmed("0", "ok", LATER, "SG632NMUAB")
    assert (late.status, late.late, late.receipt) == (PaymentStatus.SUCCESS, True, "SG632NMUAB")


def test_a_payment_confirmed_by_query_takes_its_receipt_from_the_callback() -> None:
    confirmed = _pending().confirmed("0", "ok", LATER)
    assert confirmed.receipt is None and confirmed.status is PaymentStatus.SUCCESS
    assert confirmed.assess(_result()) is PaymentOutcome.RECEIPT_ADDED
    assert confirmed.assess(_result(amount=Decimal(1))) is PaymentOutcome.MISMATCH
    assert confirmed.with_receipt("SG632NMUAB", LATER).assess(_result()) is PaymentOutcome.REPEAT


def test_a_push_refused_synchronously_fails_with_darajas_code() -> None:
    refused = _queued().pushing(NOW).rejected("400.002.02", "Invalid PhoneNumber", LATER)
    assert (refused.status, refused.result_code, refused.result_desc) == (
        PaymentStatus.FAILED, "400.002.02", "Invalid PhoneNumber")
    assert refused.checkout_request_id is None


def test_a_push_is_claimed_once_and_a_withdrawn_claim_can_be_made_again() -> None:
    claimed = _queued().pushing(LATER)
    assert (claimed.push_started_at, claimed.updated_at, claimed.version) == (LATER, LATER, 2)
    assert claimed.status is PaymentStatus.QUEUED
    with pytest.raises(IllegalTransitionError):
        claimed.pushing(LATER)
    withdrawn = claimed.push_withdrawn(LATER)
    assert withdrawn.push_started_at is None and withdrawn.version == 3
    assert withdrawn.pushing(LATER).version == 4


@pytest.mark.parametrize(("phone", "masked"), [
    ("254712345678", "2547****678"),
    ("254112345678", "2541****678"),
    ("25471234", "2547****234"),
    ("2547123", "****"),
    ("", "****"),
])
def test_phones_are_masked_as_the_contract_shows(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_a_masked_phone_keeps_no_more_than_seven_digits_of_a_full_number() -> None:
    masked = mask_phone("254712345678")
    assert sum(ch.isdigit() for ch in masked) == 7 and "12345" not in masked
