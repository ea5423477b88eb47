"""An STK payment attempt for a deal, and how M-Pesa's answers move it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import IllegalTransitionError
from domain.mpesa import SUCCESS, StkResult


class PaymentStatus(StrEnum):
    QUEUED = "queued"  # recorded; the STK push is not sent yet
    PENDING = "pending"  # M-Pesa accepted the push; waiting for the customer
    SUCCESS = "success"
    FAILED = "failed"


class PaymentTrigger(StrEnum):
    ACCEPT = "accept"  # Daraja accepted the push (CheckoutRequestID known)
    REJECT = "reject"  # Daraja refused the push synchronously
    SUCCEED = "succeed"
    FAIL = "fail"
    LOSE = "lose"  # sent, but no answer came back: the outcome is unknown
    LATE_SUCCEED = "late_succeed"  # M-Pesa says paid after we had closed it as failed


P, PT = PaymentStatus, PaymentTrigger
PAYMENT_TRANSITIONS: dict[tuple[PaymentStatus, PaymentTrigger], PaymentStatus] = {
    (P.QUEUED, PT.ACCEPT): P.PENDING,
    (P.QUEUED, PT.REJECT): P.FAILED,
    (P.PENDING, PT.SUCCEED): P.SUCCESS,
    (P.PENDING, PT.FAIL): P.FAILED,
    (P.QUEUED, PT.LOSE): P.PENDING,
    (P.FAILED, PT.LATE_SUCCEED): P.SUCCESS,
}
del P, PT

OPEN = (PaymentStatus.QUEUED, PaymentStatus.PENDING)


class PaymentOutcome(StrEnum):
    """What one callback (or one query) did to a payment: the one vocabulary for payments."""

    CREDITED = "credited"  # M-Pesa confirmed it: escrow funded
    CREDITED_TO_WALLET = "credited_to_wallet"  # confirmed, but the deal could no longer take it
    LATE_CREDIT = "late_credit"  # confirmed after we had closed it as failed: credited, flagged
    FAILED = "failed"  # M-Pesa confirmed it did not go through
    RECEIPT_ADDED = "receipt_added"  # confirmed by a query before; the callback brings the receipt
    REPEAT = "repeat"  # what we already applied
    AWAITING = "awaiting"  # M-Pesa does not know the outcome yet: ask again a little later
    UNVERIFIED = "unverified"  # M-Pesa would not confirm it: nothing moved
    CONTRADICTED = "contradicted"  # the callback disagrees with M-Pesa: nothing moved on its word
    MISMATCH = "mismatch"  # not what we asked for (amount, phone, receipt): nothing moved
    UNKNOWN_PAYMENT = "unknown_payment"  # names no push of ours


@dataclass(frozen=True)
class Payment:
    id: str
    deal_id: str
    payer_id: str
    amount: int
    phone: str  # 2547XXXXXXXX or 2541XXXXXXXX
    created_at: datetime
    updated_at: datetime
    idempotency_key: str
    request_hash: str
    account_reference: str = ""  # random, stored: shown in the prompt, derivable from nothing
    status: PaymentStatus = PaymentStatus.QUEUED
    method: str = "mpesa_stk"
    merchant_request_id: str | None = None
    checkout_request_id: str | None = None
    receipt: str | None = None
    result_code: str | None = None
    result_desc: str | None = None
    paid_at: datetime | None = None
    push_started_at: datetime | None = None  # set just before the STK push goes out
    outcome_unknown: bool = False  # sent, no CheckoutRequestID came back
    checks: int = 0  # STK Queries made (or, when the outcome is unknown, rounds waited)
    next_check_at: datetime | None = None
    late: bool = False  # succeeded after having been closed as failed: flagged for review
    version: int = 1
    # What a final status implies (the deal funded or the money returned, people told, alerts
    # raised) is done. Set apart from the version; any save clears it, so it only ever errs
    # towards finishing again, which is a no-op.
    finished: bool = dataclasses.field(default=False, compare=False)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _move(self, trigger: PaymentTrigger, now: datetime, **changes: object) -> Payment:
        status = PAYMENT_TRANSITIONS.get((self.status, trigger))
        if status is None:
            raise IllegalTransitionError("payment", self.status.value, trigger.value)
        return dataclasses.replace(
            self, status=status, updated_at=now, version=self.version + 1, finished=False,
            **changes,  # type: ignore[arg-type]
        )

    def pushing(self, now: datetime) -> Payment:
        """Claim the one STK push this payment may send (saved before sending it)."""
        if self.status is not PaymentStatus.QUEUED or self.push_started_at is not None:
            raise IllegalTransitionError("payment", self.status.value, "push")
        return dataclasses.replace(self, push_started_at=now, updated_at=now,
                                   version=self.version + 1)

    def push_withdrawn(self, now: datetime) -> Payment:
        """Nothing was sent (Daraja refused before creating anything, or another prompt may be
        open on the phone): the push may be tried again."""
        return dataclasses.replace(self, push_started_at=None, updated_at=now,
                                   version=self.version + 1)

    def accepted(self, merchant_request_id: str, checkout_request_id: str,
                 now: datetime, first_check_at: datetime | None = None) -> Payment:
        return self._move(
            PaymentTrigger.ACCEPT, now, merchant_request_id=merchant_request_id,
            checkout_request_id=checkout_request_id, next_check_at=first_check_at,
        )

    def lost(self, now: datetime, first_check_at: datetime | None) -> Payment:
        """The push may have reached the phone; a callback naming this phone and amount, or
        the reconciliation schedule running out, will settle it."""
        return self._move(PaymentTrigger.LOSE, now, outcome_unknown=True,
                          next_check_at=first_check_at)

    def checked(self, now: datetime, next_at: datetime | None) -> Payment:
        return dataclasses.replace(self, checks=self.checks + 1, next_check_at=next_at,
                                   updated_at=now, version=self.version + 1)

    def adopted(self, checkout_request_id: str, now: datetime) -> Payment:
        """A callback for a push whose answer we never got: now we know its id."""
        return dataclasses.replace(self, checkout_request_id=checkout_request_id,
                                   outcome_unknown=False, updated_at=now,
                                   version=self.version + 1)

    def confirmed(self, code: str, description: str, now: datetime,
                  receipt: str | None = None) -> Payment:
        """M-Pesa's own answer (STK Query), with the receipt of a callback it verified, if
        any. A success after we had closed it as failed is never dropped, always flagged."""
        if code != SUCCESS:
            return self._move(PaymentTrigger.FAIL, now, result_code=code,
                              result_desc=description, next_check_at=None)
        late = self.status is PaymentStatus.FAILED
        return self._move(
            PaymentTrigger.LATE_SUCCEED if late else PaymentTrigger.SUCCEED, now,
            result_code=code, result_desc=description, receipt=receipt, paid_at=now,
            next_check_at=None, late=late or self.late,
        )

    def with_receipt(self, receipt: str, now: datetime) -> Payment:
        return dataclasses.replace(self, receipt=receipt, updated_at=now,
                                   version=self.version + 1)

    def rejected(self, code: str, description: str, now: datetime) -> Payment:
        return self._move(PaymentTrigger.REJECT, now, result_code=code, result_desc=description)

    def assess(self, result: StkResult) -> PaymentOutcome | None:
        """What a callback's claim comes to before asking M-Pesa, without changing anything;
        None when only M-Pesa's own answer (STK Query) can tell. A callback is never proof."""
        if result.checkout_request_id != self.checkout_request_id:
            return PaymentOutcome.MISMATCH
        if not result.succeeded:
            if self.status is PaymentStatus.SUCCESS:
                return PaymentOutcome.CONTRADICTED
            return PaymentOutcome.REPEAT if self.status is PaymentStatus.FAILED else None
        if not self._matches(result):  # amount, phone, receipt: not what we asked for
            return PaymentOutcome.MISMATCH
        if self.status is PaymentStatus.SUCCESS:
            if self.receipt is None:  # a query confirmed it; the callback brings the receipt
                return PaymentOutcome.RECEIPT_ADDED if result.phone == self.phone \
                    else PaymentOutcome.MISMATCH
            return PaymentOutcome.REPEAT if self.receipt == result.receipt \
                else PaymentOutcome.MISMATCH
        return None  # open, or closed as failed (a late success): ask M-Pesa

    def _matches(self, result: StkResult) -> bool:
        return (_same_amount(result.amount, self.amount) and bool(result.receipt)
                and (result.phone is None or result.phone == self.phone))

    def matches_unknown(self, result: StkResult) -> bool:
        """Could ``result`` be the answer to this push whose CheckoutRequestID we never got?"""
        return (self.outcome_unknown and self.checkout_request_id is None and result.succeeded
                and result.phone == self.phone and self._matches(result))


def _same_amount(reported: Decimal | None, asked: int) -> bool:
    return reported is not None and reported == reported.to_integral_value() and reported == asked


def mask_phone(phone: str) -> str:
    """``2547****678``: enough to recognise a number, not enough to dial it."""
    if len(phone) < 8:
        return "****"
    return f"{phone[:4]}****{phone[-3:]}"
