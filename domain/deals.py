"""The escrow deal: its state machine (a table) and the guards that need data."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import Forbidden, IllegalTransitionError, InvalidInput
from domain.money import CURRENCY, require_amount


class DealStatus(StrEnum):
    PENDING = "pending"  # created, not funded
    ACTIVE = "active"  # funded: the money is held in escrow
    COMPLETED = "completed"  # released to the seller
    DISPUTED = "disputed"
    CANCELLED = "cancelled"


class Trigger(StrEnum):
    UPDATE = "update"
    PAY = "pay"  # a payment attempt starts; the deal stays pending
    FUND = "fund"
    CANCEL = "cancel"
    EXPIRE = "expire"
    DELIVER = "deliver"
    RELEASE = "release"
    AUTO_RELEASE = "auto_release"
    DISPUTE = "dispute"
    RESOLVE_RELEASE = "resolve_release"
    RESOLVE_REFUND = "resolve_refund"
    RESOLVE_SPLIT = "resolve_split"
    RECEIPT = "receipt"  # the M-Pesa receipt of a payment confirmed earlier reaches the deal


S, T = DealStatus, Trigger
TRANSITIONS: dict[tuple[DealStatus, Trigger], DealStatus] = {
    (S.PENDING, T.UPDATE): S.PENDING,
    (S.PENDING, T.PAY): S.PENDING,
    (S.PENDING, T.FUND): S.ACTIVE,
    (S.PENDING, T.CANCEL): S.CANCELLED,
    (S.PENDING, T.EXPIRE): S.CANCELLED,
    (S.ACTIVE, T.DELIVER): S.ACTIVE,
    (S.ACTIVE, T.RELEASE): S.COMPLETED,
    (S.ACTIVE, T.AUTO_RELEASE): S.COMPLETED,
    (S.ACTIVE, T.DISPUTE): S.DISPUTED,
    (S.DISPUTED, T.RESOLVE_RELEASE): S.COMPLETED,
    (S.DISPUTED, T.RESOLVE_REFUND): S.CANCELLED,
    (S.DISPUTED, T.RESOLVE_SPLIT): S.COMPLETED,
    **{(s, T.RECEIPT): s for s in (S.ACTIVE, S.COMPLETED, S.DISPUTED, S.CANCELLED)},
}
del S, T


def next_status(status: DealStatus, trigger: Trigger) -> DealStatus:
    """The state ``trigger`` leads to from ``status``; anything not in the table is illegal."""
    try:
        return TRANSITIONS[(status, trigger)]
    except KeyError:
        raise IllegalTransitionError("deal", status.value, trigger.value) from None


MAX_TITLE = 200
MAX_TEXT = 5_000
DEFAULT_INSPECTION_DAYS = 3


@dataclass(frozen=True)
class PaymentSummary:
    method: str
    reference: str | None
    status: str
    paid_at: datetime | None


@dataclass(frozen=True)
class Dispute:
    reason: str
    opened_by: str
    opened_at: datetime
    outcome: str | None = None  # "release", "refund" or "split", once resolved
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


@dataclass(frozen=True)
class Settlement:
    """How the escrowed money was divided; the ledger posting is derived from it."""

    kind: str  # "released", "auto_released", "dispute_release", "dispute_refund", "dispute_split"
    seller_amount: int  # before the fee
    buyer_amount: int
    fee: int
    settled_at: datetime


@dataclass(frozen=True)
class TimelineEvent:
    """One line of a deal's audit trail; ``seq`` equals the deal version it produced."""

    deal_id: str
    seq: int
    status: DealStatus
    from_status: DealStatus | None
    event: str
    actor: str  # a user id, or "system"
    note: str | None
    timestamp: datetime


@dataclass(frozen=True)
class Deal:
    id: str
    title: str
    description: str
    amount: int
    buyer_id: str
    seller_id: str
    created_at: datetime
    updated_at: datetime
    status: DealStatus = DealStatus.PENDING
    currency: str = CURRENCY
    due_date: datetime | None = None
    terms: str | None = None
    inspection_days: int = DEFAULT_INSPECTION_DAYS
    payment: PaymentSummary | None = None
    funded_by: str | None = None  # the payment id whose money is in escrow
    delivered_at: datetime | None = None
    inspection_ends_at: datetime | None = None
    dispute: Dispute | None = None
    settlement: Settlement | None = None
    version: int = 1
    last_event: TimelineEvent | None = None

    def is_party(self, user_id: str) -> bool:
        return user_id in (self.buyer_id, self.seller_id)

    def require_buyer(self, user_id: str, action: str) -> None:
        if user_id != self.buyer_id:
            raise Forbidden(f"only the buyer may {action} this deal")

    def require_seller(self, user_id: str, action: str) -> None:
        if user_id != self.seller_id:
            raise Forbidden(f"only the seller may {action} this deal")

    def require_party(self, user_id: str, action: str) -> None:
        if not self.is_party(user_id):
            raise Forbidden(f"only the buyer or the seller may {action} this deal")

    def apply(
        self, trigger: Trigger, actor: str, now: datetime, event: str, note: str | None = None,
        **changes: object,
    ) -> Deal:
        """The deal after ``trigger``: next status, bumped version, and the event recording it."""
        status = next_status(self.status, trigger)
        version = self.version + 1
        record = TimelineEvent(self.id, version, status, self.status, event, actor, note, now)
        return dataclasses.replace(
            self, status=status, version=version, updated_at=now, last_event=record,
            **changes,  # type: ignore[arg-type]
        )


def check_text(field: str, value: object, limit: int, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidInput(field, "must be a non-empty string")
    if len(value) > limit:
        raise InvalidInput(field, f"must be at most {limit} characters")
    return value.strip()


def check_inspection_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 30:
        raise InvalidInput("inspectionDays", "must be a whole number of days from 1 to 30")
    return value


def check_due_date(value: datetime | None, now: datetime) -> datetime | None:
    if value is not None and value <= now:
        raise InvalidInput("dueDate", "must be in the future")
    return value


def check_amount(value: object) -> int:
    return require_amount(value, "amount")
