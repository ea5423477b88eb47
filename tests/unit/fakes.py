"""Hand-written fakes of the domain's ports: in memory, no I/O, same contracts as the adapters."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.deals import Deal, TimelineEvent
from domain.errors import ConcurrencyError, Conflict
from domain.ledger import Posting
from domain.payments import Payment
from domain.ports import DealQuery, GatewayRejected, InboxItem, StkAccepted
from domain.services.context import Context
from domain.users import User


class FakeClock:
    def __init__(self) -> None:
        self.current = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakeIds:
    def __init__(self) -> None:
        self.count = 0

    def new_id(self) -> str:
        self.count += 1
        return f"id{self.count:04d}"


class FakeHasher:
    def hash(self, password: str) -> str:
        return "hashed:" + password[::-1]

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == self.hash(password)

    def verify_dummy(self, password: str) -> None:
        self.verify("hashed:", password)


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, User] = {}

    def add(self, user: User) -> None:
        if any(u.email == user.email for u in self.rows.values()):
            raise Conflict("an account with this email already exists")
        self.rows[user.id] = user

    def get(self, user_id: str) -> User | None:
        return self.rows.get(user_id)

    def by_email(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)

    def save(self, user: User) -> None:
        self.rows[user.id] = user


class FakeDeals:
    def __init__(self) -> None:
        self.rows: dict[str, Deal] = {}
        self.events: dict[tuple[str, int], TimelineEvent] = {}

    def add(self, deal: Deal) -> None:
        self.rows[deal.id] = deal

    def get(self, deal_id: str) -> Deal | None:
        return self.rows.get(deal_id)

    def save(self, deal: Deal, expected_version: int) -> None:
        if self.rows[deal.id].version != expected_version:
            raise ConcurrencyError("stale")
        self.rows[deal.id] = deal

    def record_event(self, event: TimelineEvent) -> None:
        self.events.setdefault((event.deal_id, event.seq), event)

    def timeline(self, deal_id: str) -> Sequence[TimelineEvent]:
        return [e for (d, _), e in sorted(self.events.items()) if d == deal_id]

    def find(self, query: DealQuery) -> tuple[Sequence[Deal], int]:
        found = [d for d in self.rows.values()
                 if query.user_id is None or d.is_party(query.user_id)]
        return found, len(found)


class FakePayments:
    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}

    def add(self, payment: Payment) -> Payment:
        holder = (self.by_idempotency_key(payment.payer_id, payment.idempotency_key)
                  or self.open_for_deal(payment.deal_id))
        if holder is not None:
            return holder
        self.rows[payment.id] = payment
        return payment

    def get(self, payment_id: str) -> Payment | None:
        return self.rows.get(payment_id)

    def by_idempotency_key(self, payer_id: str, key: str) -> Payment | None:
        return next((p for p in self.rows.values()
                     if p.payer_id == payer_id and p.idempotency_key == key), None)

    def by_checkout_request_id(self, checkout_request_id: str) -> Payment | None:
        return next((p for p in self.rows.values()
                     if p.checkout_request_id == checkout_request_id), None)

    def open_for_deal(self, deal_id: str) -> Payment | None:
        return next((p for p in self.rows.values() if p.deal_id == deal_id and p.is_open), None)

    def for_deal(self, deal_id: str) -> Sequence[Payment]:
        return [p for p in self.rows.values() if p.deal_id == deal_id]

    def save(self, payment: Payment, expected_version: int) -> None:
        if self.rows[payment.id].version != expected_version:
            raise ConcurrencyError("stale")
        self.rows[payment.id] = payment


class FakeLedger:
    def __init__(self) -> None:
        self.postings: dict[str, Posting] = {}

    def post(self, posting: Posting) -> bool:
        if posting.key in self.postings:
            assert self.postings[posting.key].lines == posting.lines
            return False
        self.postings[posting.key] = posting
        return True

    def postings_for_deal(self, deal_id: str) -> Sequence[Posting]:
        return [p for p in self.postings.values() if p.deal_id == deal_id]

    def balance(self, account: str) -> int:
        return sum(p.amount_for(account) for p in self.postings.values())


class FakeTasks:
    def __init__(self) -> None:
        self.stk_pushes: list[str] = []

    def request_stk_push(self, payment_id: str) -> None:
        self.stk_pushes.append(payment_id)


class FakeNotifier:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (event, object id, status)

    def deal_changed(self, deal: Deal, event: str) -> None:
        self.sent.append((event, deal.id, deal.status.value))

    def payment_changed(self, payment: Payment, deal: Deal) -> None:
        self.sent.append(("payment:updated", payment.id, payment.status.value))


class ScriptedGateway:
    """Answers pushes from a script: an StkAccepted or an exception to raise."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.pushed: list[tuple[str, str]] = []

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        self.pushed.append((payment.id, account_reference))
        answer = self.answers.pop(0) if self.answers else StkAccepted("m-1", f"ws_CO_{payment.id}")
        if isinstance(answer, BaseException):
            raise answer
        return answer  # type: ignore[no-any-return]


class FakeInbox:
    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}
        self.marks: dict[str, tuple[str, str]] = {}

    def put(self, raw: str, clock: FakeClock) -> str:
        key = f"cb{len(self.items) + 1}"
        self.items[key] = InboxItem(key, "stk", raw, clock.now(), "received")
        return key

    def get(self, callback_id: str) -> InboxItem | None:
        return self.items.get(callback_id)

    def mark(self, callback_id: str, status: str, outcome: str, now: datetime) -> None:
        self.marks[callback_id] = (status, outcome)
        self.items[callback_id] = dataclasses.replace(self.items[callback_id], status=status)


def make_context() -> Context:
    return Context(
        users=FakeUsers(), deals=FakeDeals(), payments=FakePayments(), ledger=FakeLedger(),
        clock=FakeClock(), ids=FakeIds(), tasks=FakeTasks(), notifier=FakeNotifier(),
        hasher=FakeHasher(),
    )


__all__ = ["GatewayRejected", "make_context"]
