"""An STK payment attempt for a deal, and how M-Pesa's answers move it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.errors import IllegalTransitionError
from domain.mpesa import StkResult


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


P, PT = PaymentStatus, PaymentTrigger
PAYMENT_TRANSITIONS: dict[tuple[PaymentStatus, PaymentTrigger], PaymentStatus] = {
    (P.QUEUED, PT.ACCEPT): P.PENDING,
    (P.QUEUED, PT.REJECT): P.FAILED,
    (P.PENDING, PT.SUCCEED): P.SUCCESS,
    (P.PENDING, PT.FAIL): P.FAILED,
}
del P, PT

OPEN = (PaymentStatus.QUEUED, PaymentStatus.PENDING)


class Verdict(StrEnum):
    """What a result from M-Pesa means for our records."""

    CREDIT = "credit"
    FAIL = "fail"
    MISMATCH = "mismatch"  # the result does not match what we asked: move no money
    ALREADY_FINAL = "already_final"


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
    status: PaymentStatus = PaymentStatus.QUEUED
    method: str = "mpesa_stk"
    merchant_request_id: str | None = None
    checkout_request_id: str | None = None
    receipt: str | None = None
    result_code: str | None = None
    result_desc: str | None = None
    paid_at: datetime | None = None
    push_started_at: datetime | None = None  # set just before the STK push goes out
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def _move(self, trigger: PaymentTrigger, now: datetime, **changes: object) -> Payment:
        status = PAYMENT_TRANSITIONS.get((self.status, trigger))
        if status is None:
            raise IllegalTransitionError("payment", self.status.value, trigger.value)
        return dataclasses.replace(
            self, status=status, updated_at=now, version=self.version + 1,
            **changes,  # type: ignore[arg-type]
        )

    def pushing(self, now: datetime) -> Payment:
        """Claim the one STK push this payment may send (saved before sending it)."""
        if self.status is not PaymentStatus.QUEUED or self.push_started_at is not None:
            raise IllegalTransitionError("payment", self.status.value, "push")
        return dataclasses.replace(self, push_started_at=now, updated_at=now,
                                   version=self.version + 1)

    def push_withdrawn(self, now: datetime) -> Payment:
        """Daraja refused before creating anything: the push may be tried again."""
        return dataclasses.replace(self, push_started_at=None, updated_at=now,
                                   version=self.version + 1)

    def accepted(self, merchant_request_id: str, checkout_request_id: str,
                 now: datetime) -> Payment:
        return self._move(
            PaymentTrigger.ACCEPT, now,
            merchant_request_id=merchant_request_id, checkout_request_id=checkout_request_id,
        )

    def rejected(self, code: str, description: str, now: datetime) -> Payment:
        return self._move(PaymentTrigger.REJECT, now, result_code=code, result_desc=description)

    def judge(self, result: StkResult) -> Verdict:
        """Decide, without changing anything, what ``result`` means for this payment."""
        if not self.is_open:
            return Verdict.ALREADY_FINAL
        if result.checkout_request_id != self.checkout_request_id:
            return Verdict.MISMATCH
        if not result.succeeded:
            return Verdict.FAIL
        if not _same_amount(result.amount, self.amount):
            return Verdict.MISMATCH
        if result.phone is not None and result.phone != self.phone:
            return Verdict.MISMATCH
        if not result.receipt:
            return Verdict.MISMATCH
        return Verdict.CREDIT

    def settled(self, result: StkResult, now: datetime) -> Payment:
        """The payment after an authoritative result that ``judge`` found credible."""
        if result.succeeded:
            return self._move(
                PaymentTrigger.SUCCEED, now, receipt=result.receipt, paid_at=now,
                result_code=result.result_code, result_desc=result.result_desc,
            )
        return self._move(
            PaymentTrigger.FAIL, now,
            result_code=result.result_code, result_desc=result.result_desc,
        )


def _same_amount(reported: Decimal | None, asked: int) -> bool:
    return reported is not None and reported == reported.to_integral_value() and reported == asked


def mask_phone(phone: str) -> str:
    """``2547****678``: enough to recognise a number, not enough to dial it."""
    if len(phone) < 8:
        return "****"
    return f"{phone[:4]}****{phone[-3:]}"
