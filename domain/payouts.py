"""A withdrawal from a wallet to an M-Pesa phone (B2C), and how M-Pesa's answers move it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import IllegalTransitionError, InvalidInput

MIN_PAYOUT = 10  # Daraja's B2C minimum
MAX_PAYOUT = 250_000


class PayoutStatus(StrEnum):
    QUEUED = "queued"  # money reserved (wallet → payouts in flight); B2C not sent yet
    PENDING = "pending"  # sent; waiting for the result (or a status query)
    SUCCESS = "success"
    FAILED = "failed"  # money back in the wallet


class PayoutTrigger(StrEnum):
    SEND = "send"  # the request went out (accepted, or no answer: outcome unknown)
    REJECT = "reject"  # refused before anything was created
    SUCCEED = "succeed"
    FAIL = "fail"


Q, PT = PayoutStatus, PayoutTrigger
PAYOUT_TRANSITIONS: dict[tuple[PayoutStatus, PayoutTrigger], PayoutStatus] = {
    (Q.QUEUED, PT.SEND): Q.PENDING,
    (Q.QUEUED, PT.REJECT): Q.FAILED,
    (Q.PENDING, PT.SUCCEED): Q.SUCCESS,
    (Q.PENDING, PT.FAIL): Q.FAILED,
}
del Q, PT


def check_payout_amount(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput("amount", "must be a whole number of shillings")
    if not MIN_PAYOUT <= value <= MAX_PAYOUT:
        raise InvalidInput("amount", f"M-Pesa pays out between {MIN_PAYOUT} and {MAX_PAYOUT}")
    return value


@dataclass(frozen=True)
class Payout:
    id: str
    user_id: str
    amount: int
    phone: str
    idempotency_key: str
    request_hash: str
    debit_key: str  # the ledger posting that reserved the money
    created_at: datetime
    updated_at: datetime
    status: PayoutStatus = PayoutStatus.QUEUED
    conversation_id: str | None = None
    receipt: str | None = None
    result_code: str | None = None
    result_desc: str | None = None
    send_started_at: datetime | None = None
    status_checks: int = 0
    last_check_at: datetime | None = None
    version: int = 1
    # Ours, random and stored, unique per payout (Daraja v3 refuses a second request with it);
    # never derived from the payout id users see, so nobody can name it in a forged result.
    originator_conversation_id: str = ""

    @property
    def is_final(self) -> bool:
        return self.status in (PayoutStatus.SUCCESS, PayoutStatus.FAILED)

    def _bump(self, now: datetime, **changes: object) -> Payout:
        return dataclasses.replace(self, updated_at=now, version=self.version + 1,
                                   **changes)  # type: ignore[arg-type]

    def _move(self, trigger: PayoutTrigger, now: datetime, **changes: object) -> Payout:
        status = PAYOUT_TRANSITIONS.get((self.status, trigger))
        if status is None:
            raise IllegalTransitionError("payout", self.status.value, trigger.value)
        return self._bump(now, status=status, **changes)

    def sending(self, now: datetime) -> Payout:
        """Claim the one B2C request this payout may send (saved before sending it)."""
        if self.status is not PayoutStatus.QUEUED or self.send_started_at is not None:
            raise IllegalTransitionError("payout", self.status.value, "send")
        return self._bump(now, send_started_at=now)

    def send_withdrawn(self, now: datetime) -> Payout:
        return self._bump(now, send_started_at=None)

    def sent(self, conversation_id: str | None, now: datetime) -> Payout:
        return self._move(PayoutTrigger.SEND, now, conversation_id=conversation_id)

    def rejected(self, code: str, description: str, now: datetime) -> Payout:
        return self._move(PayoutTrigger.REJECT, now, result_code=code, result_desc=description)

    def succeeded(self, receipt: str | None, code: str, description: str, now: datetime) -> Payout:
        return self._move(PayoutTrigger.SUCCEED, now, receipt=receipt, result_code=code,
                          result_desc=description)

    def failed(self, code: str, description: str, now: datetime) -> Payout:
        return self._move(PayoutTrigger.FAIL, now, result_code=code, result_desc=description)

    def checked(self, now: datetime) -> Payout:
        """A Transaction Status query went out for it."""
        return self._bump(now, status_checks=self.status_checks + 1, last_check_at=now)
