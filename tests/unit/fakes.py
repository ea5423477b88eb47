"""Hand-written fakes of the domain's ports, bundled into the Context the use cases take.

Clock, ids, hasher, task queue, notifier, STK and B2C gateways and callback inbox live here;
the repositories and the ledger are in ``fake_repositories``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from domain.deals import Deal
from domain.notifications import Notification
from domain.payments import Payment
from domain.payouts import Payout
from domain.ports import InboxItem, StkAccepted, StkStatus
from domain.services.context import Context
from tests.unit.fake_repositories import (
    FakeDeals,
    FakeLedger,
    FakeNotifications,
    FakePayments,
    FakePayouts,
    FakeUsers,
)

START = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


class FakeClock:
    def __init__(self, current: datetime = START) -> None:
        self.current = current

    def now(self) -> datetime:
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class FakeIds:
    def __init__(self) -> None:
        self.count = 0

    def new_id(self) -> str:
        self.count += 1
        return f"id{self.count:04d}"

    def new_reference(self) -> str:
        self.count += 1
        return f"unguessable{self.count:09d}"


class FakeHasher:
    """Reversible on purpose: a test can read what was hashed."""

    PREFIX = "fakehash$"
    OLD_PREFIX = "oldfakehash$"  # what older hashing parameters made: still verifies

    def __init__(self) -> None:
        self.dummy_checks: list[str] = []

    def hash(self, password: str) -> str:
        return self.PREFIX + password

    def verify(self, password_hash: str, password: str) -> bool:
        return password_hash in (self.PREFIX + password, self.OLD_PREFIX + password)

    def needs_rehash(self, password_hash: str) -> bool:
        return password_hash.startswith(self.OLD_PREFIX)

    def verify_dummy(self, password: str) -> None:
        self.dummy_checks.append(password)


class FakeTasks:
    def __init__(self) -> None:
        self.stk_pushes: list[str] = []
        self.b2c_requests: list[str] = []
        self.status_queries: list[tuple[str, int]] = []
        self.stk_queries: list[str] = []
        self.callbacks: list[str] = []

    def request_stk_push(self, payment_id: str) -> None:
        self.stk_pushes.append(payment_id)

    def request_b2c(self, payout_id: str) -> None:
        self.b2c_requests.append(payout_id)

    def query_payout_status(self, payout_id: str, delay_s: int = 0) -> None:
        self.status_queries.append((payout_id, delay_s))

    def query_stk(self, payment_id: str) -> None:
        self.stk_queries.append(payment_id)

    def process_callback(self, callback_id: str) -> None:
        self.callbacks.append(callback_id)


class FakeNotifier:
    def __init__(self) -> None:
        self.deal_events: list[tuple[str, str, str]] = []  # (event, deal id, deal status)
        self.payment_events: list[tuple[str, str, str]] = []  # (payment id, status, deal id)
        self.wallets: list[tuple[str, int]] = []
        self.emitted: list[Notification] = []
        self.alerts: list[tuple[str, dict[str, str]]] = []

    def deal_changed(self, deal: Deal, event: str) -> None:
        self.deal_events.append((event, deal.id, deal.status.value))

    def payment_changed(self, payment: Payment, deal: Deal) -> None:
        self.payment_events.append((payment.id, payment.status.value, deal.id))

    def wallet_changed(self, user_id: str, balance: int) -> None:
        self.wallets.append((user_id, balance))

    def notify(self, notification: Notification) -> None:
        self.emitted.append(notification)

    def alert(self, message: str, **context: str) -> None:
        self.alerts.append((message, context))


class ScriptedGateway:
    """Answers pushes from a script (StkAccepted or an exception); accepts once it runs out.

    STK Query answers from ``truth`` (CheckoutRequestID → what M-Pesa knows), "pending" for an
    id it has no truth for yet, or raises ``query_error`` once when set."""

    def __init__(self, *answers: StkAccepted | Exception) -> None:
        self.answers = list(answers)
        self.pushed: list[tuple[str, str, int, str]] = []  # (payment, reference, amount, phone)
        self.truth: dict[str, StkStatus | Exception] = {}
        self.queried: list[str] = []

    def query(self, payment: Payment) -> StkStatus:
        checkout_id = payment.checkout_request_id or ""
        self.queried.append(checkout_id)
        answer = self.truth.get(checkout_id, StkStatus(pending=True))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def knows(self, checkout_id: str, code: str, desc: str = "") -> None:
        """M-Pesa's record of how the push ended."""
        self.truth[checkout_id] = StkStatus(False, code, desc or f"result {code}")

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        self.pushed.append((payment.id, account_reference, payment.amount, payment.phone))
        answer = (self.answers.pop(0) if self.answers
                  else StkAccepted(f"mr-{payment.id}", f"ws_CO_{payment.id}"))
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeB2c:
    """Answers B2C requests from a script (a ConversationID or an exception); accepts once it
    runs out. Status queries answer with a fresh query id each."""

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.paid: list[str] = []  # payout ids, one per request that went out
        self.queried: list[str] = []

    def pay(self, payout: Payout) -> str:
        self.paid.append(payout.id)
        answer = self.answers.pop(0) if self.answers else f"AG_{payout.id}"
        if isinstance(answer, Exception):
            raise answer
        return answer

    def query_status(self, payout: Payout) -> str:
        self.queried.append(payout.id)
        return f"status-{payout.id}-{len(self.queried)}"


class FakeInbox:
    def __init__(self) -> None:
        self.items: dict[str, InboxItem] = {}
        self.marks: dict[str, tuple[str, str]] = {}  # callback id -> (status, outcome)
        self.requeues: dict[str, int] = {}

    def put(self, raw: str, received_at: datetime = START, kind: str = "stk") -> str:
        key = f"cb{len(self.items) + 1}"
        self.items[key] = InboxItem(key, kind, raw, received_at, "received")
        self.requeues[key] = 0
        return key

    def find(self, status: str | None, page: int,
             limit: int) -> tuple[list[dict[str, object]], int]:
        found = [{"_id": i.id, "kind": i.kind, "raw": i.raw, "status": i.status}
                 for i in reversed(self.items.values()) if status in (None, i.status)]
        return found[(page - 1) * limit:page * limit], len(found)

    def requeued(self, callback_id: str) -> int:
        self.requeues[callback_id] = self.requeues.get(callback_id, 0) + 1
        return self.requeues[callback_id]

    def get(self, callback_id: str) -> InboxItem | None:
        return self.items.get(callback_id)

    def stale(self, before: datetime, limit: int) -> list[str]:
        return [i.id for i in self.items.values()
                if i.status == "received" and i.received_at < before][:limit]

    def mark(self, callback_id: str, status: str, outcome: str, now: datetime) -> None:
        self.marks[callback_id] = (str(status), outcome)
        self.items[callback_id] = dataclasses.replace(self.items[callback_id],
                                                      status=str(status))


@dataclasses.dataclass
class Fakes:
    """Every fake, typed, plus the Context the use cases take."""

    users: FakeUsers = dataclasses.field(default_factory=FakeUsers)
    deals: FakeDeals = dataclasses.field(default_factory=FakeDeals)
    payments: FakePayments = dataclasses.field(default_factory=FakePayments)
    ledger: FakeLedger = dataclasses.field(default_factory=FakeLedger)
    clock: FakeClock = dataclasses.field(default_factory=FakeClock)
    ids: FakeIds = dataclasses.field(default_factory=FakeIds)
    tasks: FakeTasks = dataclasses.field(default_factory=FakeTasks)
    notifier: FakeNotifier = dataclasses.field(default_factory=FakeNotifier)
    hasher: FakeHasher = dataclasses.field(default_factory=FakeHasher)
    payouts: FakePayouts = dataclasses.field(default_factory=FakePayouts)
    notifications: FakeNotifications = dataclasses.field(default_factory=FakeNotifications)
    fee_rate_bps: int = 0

    @property
    def ctx(self) -> Context:
        return Context(
            users=self.users, deals=self.deals, payments=self.payments, ledger=self.ledger,
            clock=self.clock, ids=self.ids, tasks=self.tasks, notifier=self.notifier,
            hasher=self.hasher, payouts=self.payouts, notifications=self.notifications,
            fee_rate_bps=self.fee_rate_bps,
        )
