"""The simulated marketplace: the real domain services over crash-prone fakes.

``Faults`` sits under every write of every fake (save, add, post, record_event, notification
add, inbox mark…): a write may raise ``Crash`` before or after it lands, and one write of a
task may first run a second task to completion (two workers at once). ``SimTasks`` is a
Celery with ``acks_late``: a crashed task is delivered again later, retried errors run again
after a back-off, bounded like ``workers/tasks.py``. ``SimWorld.step`` draws one operation
from a seeded ``random.Random``; ``drain`` stops every fault and runs the janitors out.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import ledger
from domain.deals import Deal, DealStatus
from domain.errors import ConcurrencyError, DomainError
from domain.payments import Payment
from domain.payouts import Payout, PayoutStatus
from domain.ports import GatewayRejected, GatewayUnavailable, InboxItem, PhoneBusy
from domain.services import (
    accounts,
    callbacks,
    deals,
    lifecycle,
    payments,
    payouts,
    reconcile,
    wallet,
)
from domain.services.context import Context
from domain.services.deals import DealTerms
from domain.services.payouts import ALERT_AFTER_CHECKS
from domain.users import User
from tests.unit.fake_repositories import (
    FakeDeals,
    FakeLedger,
    FakeNotifications,
    FakePayments,
    FakePayouts,
    FakeUsers,
)
from tests.unit.fakes import FakeClock, FakeHasher, FakeIds, FakeInbox, FakeNotifier
from tests.unit.simulation.model import (
    PROMPT_LIFETIME,
    Delivery,
    Rates,
    SimMpesa,
    forged_status,
    forged_stk_success,
    result_body,
    stk_body,
)

PASSWORD = "a long password"
AMOUNTS = (100, 250, 250, 1500, 4000)  # few, so that equal amounts meet on one phone
FEE_BPS = 150
MATCH_WINDOW = timedelta(seconds=120)  # settings.callback_match_window_s
PAYOUT_STATUS_AFTER = PAYOUT_REQUEUE_AFTER = timedelta(seconds=60)
MAX_RETRIES, PHONE_BUSY_RETRIES, UNMATCHED_RETRIES = 8, 10, 30
CRASH_RATE = 0.03  # per write, before it; half that after it


class Crash(Exception):  # it is no error of the code under test
    """The worker (or the API process) died here."""


class SimFailure(AssertionError):
    """An invariant broke, or the code under test raised what it must not."""


# ------------------------------------------------------------------------- faults


class Faults:
    """Crashes between writes, and the hook that lets a second worker in at one write."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.crash_rate = CRASH_RATE
        self.armed = False  # only while a task or an API request runs
        self.writes = 0
        self.interleave: tuple[int, Callable[[str], None]] | None = None

    def before(self, what: str) -> None:
        if not self.armed:
            return
        self.writes += 1
        if self.interleave is not None and self.writes >= self.interleave[0]:
            hook, self.interleave = self.interleave[1], None
            hook(what)
        if self.rng.random() < self.crash_rate:
            raise Crash(f"before {what}")

    def after(self, what: str) -> None:
        if self.armed and self.rng.random() < self.crash_rate / 2:
            raise Crash(f"after {what}")


def _write(faults: Faults, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    faults.before(what)
    result = fn(*args)
    faults.after(what)
    return result


class SimDeals(FakeDeals):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def add(self, deal: Deal) -> None:
        _write(self.faults, f"deals.add {deal.id}", super().add, deal)

    def save(self, deal: Deal, expected_version: int) -> None:
        _write(self.faults, f"deals.save {deal.id} v{deal.version}", super().save, deal,
               expected_version)

    def record_event(self, event: Any) -> None:
        _write(self.faults, f"deals.record_event {event.deal_id}#{event.seq}",
               super().record_event, event)

    def mark_settlement_posted(self, deal_id: str) -> None:
        _write(self.faults, f"deals.mark_settlement_posted {deal_id}",
               super().mark_settlement_posted, deal_id)


class SimPayments(FakePayments):
    def __init__(self, faults: Faults, clock: FakeClock) -> None:
        super().__init__()
        self.faults, self.clock = faults, clock

    def add(self, payment: Payment) -> Payment:
        return _write(self.faults, f"payments.add {payment.id}", super().add, payment)  # type: ignore[no-any-return]

    def save(self, payment: Payment, expected_version: int) -> None:
        _write(self.faults, f"payments.save {payment.id} {payment.status.value}", super().save,
               payment, expected_version)

    def mark_finished(self, payment_id: str) -> None:
        _write(self.faults, f"payments.mark_finished {payment_id}", super().mark_finished,
               payment_id)

    def open_push_to(self, phone: str, other_than: str) -> Payment | None:
        """As the Mongo adapter: a prompt older than its lifetime has expired on the phone."""
        since = self.clock.now() - PROMPT_LIFETIME
        return next((p for p in self.rows.values() if p.phone == phone and p.id != other_than
                     and p.is_open and p.push_started_at is not None
                     and p.push_started_at >= since), None)


class SimLedger(FakeLedger):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def post(self, posting: ledger.Posting) -> bool:
        return _write(self.faults, f"ledger.post {posting.key}", super().post, posting)  # type: ignore[no-any-return]


class SimPayouts(FakePayouts):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def add(self, payout: Payout) -> Payout:
        return _write(self.faults, f"payouts.add {payout.id}", super().add, payout)  # type: ignore[no-any-return]

    def save(self, payout: Payout, expected_version: int) -> None:
        _write(self.faults, f"payouts.save {payout.id} {payout.status.value}", super().save,
               payout, expected_version)

    def remove_unreserved(self, payout: Payout) -> None:
        _write(self.faults, f"payouts.remove {payout.id}", super().remove_unreserved, payout)

    def record_status_query(self, payout_id: str, query_id: str) -> None:
        _write(self.faults, f"payouts.record_status_query {payout_id}",
               super().record_status_query, payout_id, query_id)


class SimNotifications(FakeNotifications):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults

    def add(self, notification: Any) -> bool:
        return _write(self.faults, f"notifications.add {notification.id}", super().add,  # type: ignore[no-any-return]
                      notification)


class SimInbox(FakeInbox):
    def __init__(self, faults: Faults) -> None:
        super().__init__()
        self.faults = faults
        self.forged: set[str] = set()

    def mark(self, callback_id: str, status: str, outcome: str, now: datetime) -> None:
        _write(self.faults, f"inbox.mark {callback_id} {status}", super().mark, callback_id,
               status, outcome, now)

    def requeued(self, callback_id: str) -> int:
        return _write(self.faults, f"inbox.requeued {callback_id}", super().requeued,  # type: ignore[no-any-return]
                      callback_id)


# ------------------------------------------------------------------------- tasks


@dataclass
class Task:
    name: str  # stk_push, query_stk, callback, b2c, payout_status
    arg: str
    ready_at: datetime
    retries: int = 0
    seq: int = 0

    def __str__(self) -> str:
        return f"{self.name}({self.arg})#{self.seq}"


class SimTasks:
    """The broker: enqueued tasks wait for their countdown; an enqueue may be lost."""

    def __init__(self, clock: FakeClock, rng: random.Random) -> None:
        self.clock, self.rng = clock, rng
        self.queue: list[Task] = []
        self.lose_rate = 0.02
        self.count = 0
        self.lost: list[str] = []

    def add(self, name: str, arg: str, delay_s: float = 0, retries: int = 0) -> None:
        self.count += 1
        task = Task(name, arg, self.clock.now() + timedelta(seconds=delay_s), retries,
                    self.count)
        self.queue.append(task)

    def _enqueue(self, name: str, arg: str, delay_s: float = 0) -> None:
        if self.rng.random() < self.lose_rate:  # the broker was down: logged, left to janitors
            self.lost.append(f"{name}({arg})")
            return
        self.add(name, arg, delay_s)

    def request_stk_push(self, payment_id: str) -> None:
        self._enqueue("stk_push", payment_id)

    def query_stk(self, payment_id: str) -> None:
        self._enqueue("query_stk", payment_id)

    def process_callback(self, callback_id: str) -> None:
        self._enqueue("callback", callback_id)

    def request_b2c(self, payout_id: str) -> None:
        self._enqueue("b2c", payout_id)

    def query_payout_status(self, payout_id: str, delay_s: int = 0) -> None:
        self._enqueue("payout_status", payout_id, delay_s)

    def ready(self) -> list[Task]:
        now = self.clock.now()
        return [t for t in self.queue if t.ready_at <= now]

    def take(self, task: Task) -> Task:
        self.queue.remove(task)
        return task


# celeryconfig.beat_schedule: each sweep and its period in seconds
BEAT = {"reconcile_payments": 15, "reconcile_payouts": 30, "repair_settlements": 300,
        "auto_release": 60, "expire_unfunded": 300, "requeue_callbacks": 60}
SWEEPS = tuple(BEAT)


# ------------------------------------------------------------------------- the world


class SimWorld:
    def __init__(self, seed: int, ops: set[str] | None = None) -> None:
        self.seed = seed
        self.rng = random.Random(f"ops-{seed}")
        self.faults = Faults(random.Random(f"faults-{seed}"))
        self.clock = FakeClock()
        self.mpesa = SimMpesa(random.Random(f"mpesa-{seed}"), self.clock)
        self.tasks = SimTasks(self.clock, random.Random(f"broker-{seed}"))
        self.notifier = FakeNotifier()
        self.deals = SimDeals(self.faults)
        self.payments = SimPayments(self.faults, self.clock)
        self.ledger = SimLedger(self.faults)
        self.payouts = SimPayouts(self.faults)
        self.notifications = SimNotifications(self.faults)
        self.inbox = SimInbox(self.faults)
        self.ids = FakeIds()
        self.ctx = Context(
            users=FakeUsers(), deals=self.deals, payments=self.payments, ledger=self.ledger,
            clock=self.clock, ids=self.ids, tasks=self.tasks, notifier=self.notifier,
            hasher=FakeHasher(), payouts=self.payouts, notifications=self.notifications,
            fee_rate_bps=FEE_BPS,
        )
        self.log: list[str] = []
        self.step_no = 0
        self.draining = False
        self.retries: list[tuple[str, Callable[[], object]]] = []  # API calls a client repeats
        self.keys = 0
        self.task_errors: list[str] = []
        self.known: dict[str, str] = {}  # known bug -> its first violation in this run
        self.last_beat: dict[str, datetime] = {}
        self.crashes = 0
        self.interleaves = 0
        self.forged = 0
        self.counts: dict[str, int] = {}
        self.buyers = [self._user(f"buyer{i}", "buyer") for i in range(self.rng.randint(4, 8))]
        self.sellers = [self._user(f"seller{i}", "seller")
                        for i in range(self.rng.randint(4, 8))]
        self.admin = accounts.create_admin(self.ctx, "ops@example.com", PASSWORD)
        self.phones = {u.id: f"2547{10_000_000 + i:08d}"
                       for i, u in enumerate(self.buyers + self.sellers)}
        self.ops: list[tuple[str, int, Callable[[], None]]] = [
            ("run_task", 30, self.op_run_task), ("deliver_callbacks", 12, self.op_deliver),
            ("advance", 9, self.op_advance), ("beat", 10, self.op_beat),
            ("open_deal", 5, self.op_open_deal), ("pay", 8, self.op_pay),
            ("retry_request", 2, self.op_retry), ("forge", 4, self.op_forge),
            ("mark_delivered", 3, self.op_mark_delivered), ("release", 2, self.op_release),
            ("dispute", 2, self.op_dispute), ("resolve", 2, self.op_resolve),
            ("withdraw", 4, self.op_withdraw), ("cancel", 1, self.op_cancel),
        ]
        if ops is not None:
            unknown = ops - {name for name, _, _ in self.ops}
            assert not unknown, f"unknown operations {unknown}"
            self.ops = [op for op in self.ops if op[0] in ops]

    def _user(self, name: str, role: str) -> User:
        return accounts.register(self.ctx, f"{name}@example.com", PASSWORD, name.title(),
                                 "Sim", role)

    # ------------------------------------------------------------- helpers

    def say(self, line: str) -> None:
        elapsed = (self.clock.now() - self.started_at).total_seconds() \
            if hasattr(self, "started_at") else 0
        for mpesa_line in self.mpesa.log:
            self.log.append(f"{self.step_no:5d} t+{elapsed:8.0f}s   {mpesa_line}")
        self.mpesa.log.clear()
        self.log.append(f"{self.step_no:5d} t+{elapsed:8.0f}s {line}")

    def user(self, user_id: str) -> User:
        found = self.ctx.users.get(user_id)
        assert found is not None
        return found

    def deals_in(self, *statuses: DealStatus) -> list[Deal]:
        return [d for d in self.deals.rows.values() if d.status in statuses]

    def balance(self, user_id: str) -> int:
        return sum(p.amount_for(ledger.wallet(user_id)) for p in self.ledger.postings.values())

    def _run(self, label: str, fn: Callable[[], object]) -> tuple[str, object]:
        """Run ``fn`` as one process that may crash; ("ok"|"crash"|error name, result)."""
        was_armed = self.faults.armed
        self.faults.armed = not self.draining
        try:
            return "ok", fn()
        except Crash as crash:
            self.crashes += 1
            return f"crash {crash}", None
        finally:
            self.faults.armed = was_armed

    # ------------------------------------------------------------- API requests

    def concurrently(self, label: str, second: Callable[[], None]) -> Callable[[], None]:
        """Arm ``second`` to run to completion at one of the next few writes (another worker
        or request at the same moment); returns what runs it afterwards if it never fired."""
        fired: list[str] = []

        def hook(what: str) -> None:
            fired.append(what)
            self.interleaves += 1
            self.say(f"  ~ at {what}, meanwhile: {label}")
            second()
            self.say("  ~ and the first one goes on")

        self.faults.interleave = (self.faults.writes + self.rng.randint(1, 4), hook)

        def after() -> None:
            if not fired:
                self.faults.interleave = None
                self.say(f"  ~ right after: {label}")
                second()

        return after

    def api(self, label: str, fn: Callable[[], object], retry: bool = False,
            twin: Callable[[], None] | None = None) -> object:
        """One API request; ``twin`` (another request) may run at one of its writes."""
        after = self.concurrently("another request", twin) \
            if twin is not None and not self.draining and self.rng.random() < 0.15 else None
        try:
            status, result = self._run(label, fn)
        except DomainError as refused:
            self.say(f"api {label}: {type(refused).__name__} {refused.message}")
            return None
        except Exception as error:
            raise SimFailure(f"api {label} raised {type(error).__name__}: {error}") from error
        finally:
            if after is not None:
                after()
        if status != "ok":
            self.say(f"api {label}: {status}")
            if retry:
                self.retries.append((label, fn))
            return None
        self.say(f"api {label}: {_describe(result)}")
        return result

    def deal_twin(self, deal: Deal) -> Callable[[], None]:
        """Whatever else may happen to a funded deal at the same moment."""
        def twin() -> None:
            pick = self.rng.randrange(4)
            if pick == 0:
                self.api(f"release {deal.id}", lambda: lifecycle.release(
                    self.ctx, self.user(deal.buyer_id), deal.id))
            elif pick == 1:
                self.api(f"dispute {deal.id}", lambda: lifecycle.open_dispute(
                    self.ctx, self.user(deal.seller_id), deal.id, "at the same time"))
            elif pick == 2:
                self.api(f"resolve {deal.id} refund", lambda: lifecycle.resolve_dispute(
                    self.ctx, self.admin, deal.id, "refund", None, "at the same time"))
            else:
                self.sweep("auto_release")
        return twin

    def op_open_deal(self) -> None:
        buyer, seller = self.rng.choice(self.buyers), self.rng.choice(self.sellers)
        amount = self.rng.choice(AMOUNTS)
        due = self.clock.now() + timedelta(hours=self.rng.uniform(0.2, 6)) \
            if self.rng.random() < 0.4 else None
        terms = DealTerms("Phone", "A used phone", amount, seller_id=seller.id, due_date=due,
                          inspection_days=self.rng.randint(1, 3))
        self.api(f"open_deal by {buyer.id} for {amount}",
                 lambda: deals.open_deal(self.ctx, buyer.id, terms))

    def op_pay(self) -> None:
        pending = self.deals_in(DealStatus.PENDING)
        unpaid = [d for d in pending if self.payments.open_for_deal(d.id) is None]
        if not pending:
            return
        deal = self.rng.choice(unpaid if unpaid and self.rng.random() < 0.8 else pending)
        buyer = self.user(deal.buyer_id)
        phone = self.phones[buyer.id] if self.rng.random() < 0.85 else \
            self.phones[self.rng.choice(self.buyers).id]
        self.keys += 1
        key = f"pay-{self.keys}"

        def call() -> object:
            return payments.request_payment(self.ctx, buyer, deal.id, phone, key, f"h-{key}")

        def twin() -> None:
            self.keys += 1
            other = f"pay-{self.keys}"
            self.api(f"pay {deal.id} again, key {other}", lambda: payments.request_payment(
                self.ctx, buyer, deal.id, phone, other, f"h-{other}"))

        def same_request() -> None:
            self.api(f"pay {deal.id} at once, same key", call)

        self.api(f"pay {deal.id} by {buyer.id} from {phone} key {key}", call, retry=True,
                 twin=twin if self.rng.random() < 0.5 else same_request)
        if self.rng.random() < 0.1:  # a double click: the same request again
            self.api(f"pay again {deal.id} key {key}", call)

    def op_retry(self) -> None:
        if self.retries:
            label, fn = self.retries.pop(self.rng.randrange(len(self.retries)))
            self.api(f"retry of {label}", fn, retry=True)

    def op_mark_delivered(self) -> None:
        active = [d for d in self.deals_in(DealStatus.ACTIVE) if d.delivered_at is None]
        if active:
            deal = self.rng.choice(active)
            self.api(f"deliver {deal.id}", lambda: lifecycle.deliver(
                self.ctx, self.user(deal.seller_id), deal.id))

    def op_release(self) -> None:
        active = self.deals_in(DealStatus.ACTIVE)
        if active:
            deal = self.rng.choice(active)
            self.api(f"release {deal.id}", lambda: lifecycle.release(
                self.ctx, self.user(deal.buyer_id), deal.id), twin=self.deal_twin(deal))

    def op_dispute(self) -> None:
        active = self.deals_in(DealStatus.ACTIVE)
        if active:
            deal = self.rng.choice(active)
            party = self.rng.choice((deal.buyer_id, deal.seller_id))
            self.api(f"dispute {deal.id} by {party}", lambda: lifecycle.open_dispute(
                self.ctx, self.user(party), deal.id, "not as described"),
                twin=self.deal_twin(deal))

    def op_resolve(self) -> None:
        disputed = self.deals_in(DealStatus.DISPUTED)
        if not disputed:
            return
        deal = self.rng.choice(disputed)
        outcome = self.rng.choice(("release", "refund", "split"))
        share = self.rng.randint(1, deal.amount - 1) if outcome == "split" else None
        self.api(f"resolve {deal.id} {outcome} {share}", lambda: lifecycle.resolve_dispute(
            self.ctx, self.admin, deal.id, outcome, share, "decided"), twin=self.deal_twin(deal))

    def op_cancel(self) -> None:
        pending = self.deals_in(DealStatus.PENDING)
        if pending:
            deal = self.rng.choice(pending)
            self.api(f"cancel {deal.id}", lambda: deals.cancel_deal(
                self.ctx, self.user(deal.buyer_id), deal.id))

    def op_withdraw(self) -> None:
        people = [u for u in self.buyers + self.sellers if self.balance(u.id) >= 10]
        if not people:
            return
        who = self.rng.choice(people)
        balance = self.balance(who.id)
        r = self.rng.random()
        amount = balance if r < 0.25 else balance + self.rng.randint(1, 100) if r < 0.35 \
            else self.rng.randint(10, max(10, balance))
        self.keys += 1
        key = f"wd-{self.keys}"
        def twin() -> None:
            self.keys += 1
            other, much = f"wd-{self.keys}", self.rng.randint(10, max(10, balance))
            self.api(f"withdraw {much} by {who.id} key {other}", lambda: wallet.request_withdrawal(
                self.ctx, who, much, self.phones[who.id], other, f"h-{other}"))

        self.api(f"withdraw {amount} of {balance} by {who.id} key {key}",
                 lambda: wallet.request_withdrawal(self.ctx, who, amount, self.phones[who.id],
                                                   key, f"h-{key}"), retry=True, twin=twin)

    # ------------------------------------------------------------- time and M-Pesa

    def op_advance(self) -> None:
        if self.rng.random() < 0.06:
            seconds = self.rng.uniform(6, 80) * 3600  # past inspection periods and due dates
        else:
            seconds = self.rng.uniform(1, 150)
        self.clock.advance(seconds=seconds)
        self.say(f"clock +{seconds:.0f}s")

    def op_deliver(self) -> None:
        due = self.mpesa.due()
        for delivery in self.rng.sample(due, min(len(due), self.rng.randint(1, 3))):
            self.receive(delivery)

    def receive(self, delivery: Delivery) -> None:
        """Our callback endpoint: store the body before answering 200, then enqueue."""
        self.mpesa.outbox.remove(delivery)
        callback_id = self.inbox.put(delivery.raw, self.clock.now(), delivery.kind)
        if delivery.forged:
            self.inbox.forged.add(callback_id)
        self.say(f"callback {callback_id} arrives: {delivery.note}")
        self.tasks.process_callback(callback_id)

    def op_forge(self) -> None:
        """An attacker posts to our callback URLs."""
        kind = self.rng.choice(("stk_unpaid", "stk_unknown_id", "stk_failure_for_paid",
                                "b2c_failure_for_paid", "b2c_success_for_unpaid",
                                "status_wrong_id", "status_names_ocid", "b2c_timeout"))
        forged = self._forge(kind)
        if forged is None:
            return
        inbox_kind, body, note = forged
        self.forged += 1
        delivery = Delivery(self.clock.now(), inbox_kind, json.dumps(body), f"FORGED {note}",
                            forged=True)
        self.mpesa.deliver_at(delivery)
        self.receive(delivery)

    def _forge(self, kind: str) -> tuple[str, dict[str, Any], str] | None:
        rng, mpesa = self.rng, self.mpesa
        receipt = f"FRG{rng.getrandbits(28):07X}"
        if kind.startswith("stk"):
            if kind == "stk_unknown_id":
                unknown = [p for p in self.payments.rows.values() if p.outcome_unknown]
                target = rng.choice(unknown or list(self.payments.rows.values()) or [None])
                if target is None:
                    return None
                checkout = f"ws_CO_forged{rng.getrandbits(32):08x}"
                return "stk", forged_stk_success(checkout, target.phone, target.amount,
                                                 receipt), \
                    f"stk success {checkout} for {target.id} (made-up id)"
            pushes = list(mpesa.pushes.values())
            if kind == "stk_unpaid":
                pushes = [p for p in pushes if not p.succeeded] or pushes
            else:
                pushes = [p for p in pushes if p.succeeded]
            if not pushes:
                return None
            push = rng.choice(pushes)
            if kind == "stk_unpaid":
                return "stk", forged_stk_success(push.checkout_id, push.phone, push.amount,
                                                 receipt), \
                    f"stk success for {push.story} push of {push.payment_id}"
            return "stk", stk_body(push, code="1032"), \
                f"stk failure for paid push of {push.payment_id}"
        targets = list(self.payouts.rows.values())
        if not targets:
            return None
        if kind in ("b2c_failure_for_paid", "b2c_success_for_unpaid"):
            want_paid = kind == "b2c_failure_for_paid"
            targets = [p for p in targets if (t := mpesa.transfers.get(
                p.originator_conversation_id)) is not None and t.paid == want_paid] or targets
        payout = rng.choice(targets)
        ocid = payout.originator_conversation_id
        if kind == "b2c_failure_for_paid":
            return "b2c_result", result_body(ocid, "AG_forged", 2001, "The initiator "
                                             "information is invalid.", ""), \
                f"b2c failure for {payout.id}"
        if kind == "b2c_success_for_unpaid":
            return "b2c_result", result_body(ocid, "AG_forged", 0, "ok", receipt, [
                ("TransactionAmount", payout.amount), ("TransactionReceipt", receipt)]), \
                f"b2c success for {payout.id}"
        if kind == "b2c_timeout":
            return "b2c_timeout", result_body(ocid, "AG_forged", 1037, "timeout", ""), \
                f"b2c timeout for {payout.id}"
        state = rng.choice(("Declined", "Completed", "Expired"))
        if kind == "status_names_ocid":  # the payout's own id where the query's id belongs
            return "status_result", forged_status(ocid, state, ocid, payout.amount), \
                f"status {state} for {payout.id} as its ocid"
        guess = rng.choice((f"{rng.randrange(1000, 9999)}-{rng.getrandbits(48):x}-1",
                            payout.conversation_id or "AG_x", payout.id,
                            f"status-{payout.id}-1"))
        return "status_result", forged_status(guess, state, rng.choice((ocid, None)),
                                              rng.choice((payout.amount, None))), \
            f"status {state} for {payout.id} with guessed query id {guess}"

    # ------------------------------------------------------------- workers

    def op_run_task(self) -> None:
        ready = self.tasks.ready()
        if ready:
            self.run_task(self.tasks.take(self.rng.choice(ready)), concurrent=True)

    def task_body(self, task: Task) -> Callable[[], object]:
        ctx, mpesa, arg = self.ctx, self.mpesa, task.arg
        if task.name == "stk_push":
            return lambda: payments.send_stk_push(ctx, mpesa, arg)
        if task.name == "query_stk":
            return lambda: payments.check_payment(ctx, mpesa, arg)
        if task.name == "b2c":
            return lambda: payouts.send_b2c(ctx, mpesa, arg)
        if task.name == "payout_status":
            return lambda: payouts.check_status(ctx, mpesa, arg)
        assert task.name == "callback"

        def process() -> object:
            item = self.inbox.get(arg)
            young = item is not None and self.clock.now() - item.received_at < MATCH_WINDOW
            return callbacks.process_callback(ctx, self.inbox, mpesa, arg, wait_for_match=young)

        return process

    def run_task(self, task: Task, concurrent: bool = False) -> None:
        """One delivery of ``task``; maybe a second worker runs another at one of its writes:
        the same task (delivered twice, or re-enqueued by a janitor), another one, a sweep."""
        after = None
        if concurrent and not self.draining and self.rng.random() < 0.12:
            ready, pick = self.tasks.ready(), self.rng.random()
            if pick < 0.2:
                name = self.rng.choice(SWEEPS)
                after = self.concurrently(f"beat {name}", lambda: self.sweep(name))
            else:
                other = task if not ready or pick < 0.8 \
                    else self.tasks.take(self.rng.choice(ready))
                twin = Task(other.name, other.arg, other.ready_at, other.retries, other.seq)
                after = self.concurrently(f"a second worker runs {twin}",
                                          lambda: self.run_task(twin))
        try:
            self._deliver(task)
        finally:
            if after is not None:
                after()

    def _deliver(self, task: Task) -> None:
        self.counts[task.name] = self.counts.get(task.name, 0) + 1
        try:
            status, result = self._run(str(task), self.task_body(task))
        except PhoneBusy:
            self._retry(task, 30, PHONE_BUSY_RETRIES, "phone busy")
            return
        except callbacks.NotYetMatched as early:
            self._retry(task, 5, UNMATCHED_RETRIES, f"not yet matched: {early}")
            return
        except (ConcurrencyError, GatewayUnavailable) as transient:
            backoff = self.rng.uniform(0, min(300, 2 ** (task.retries + 1)))
            self._retry(task, backoff, MAX_RETRIES, f"{type(transient).__name__}: {transient}")
            return
        except GatewayRejected as refused:
            self.say(f"task {task}: fails for good: GatewayRejected {refused}")
            return
        except Exception as error:
            self.task_errors.append(f"step {self.step_no}: task {task} raised "
                                    f"{type(error).__name__}: {error}")
            self.say(f"task {task}: FAILED {type(error).__name__}: {error}")
            return
        if status != "ok":  # acks_late: the message comes back after the worker died
            delay = self.rng.uniform(1, 600)
            self.say(f"task {task}: {status}; redelivered in {delay:.0f}s")
            self.tasks.add(task.name, task.arg, delay, task.retries)
            return
        self.say(f"task {task}: {_describe(result)}")

    def _retry(self, task: Task, delay: float, limit: int, why: str) -> None:
        if task.retries >= limit:
            self.say(f"task {task}: {why}; retries exhausted, dropped")
            return
        self.say(f"task {task}: {why}; retry in {delay:.0f}s")
        self.tasks.add(task.name, task.arg, delay, task.retries + 1)

    def op_beat(self) -> None:
        """Beat wakes up: every sweep whose period has passed runs (in no fixed order)."""
        for name in self.rng.sample(SWEEPS, len(SWEEPS)):
            self.beat(name)

    def beat(self, name: str) -> None:
        last = self.last_beat.get(name)
        if last is None or self.clock.now() - last >= timedelta(seconds=BEAT[name]):
            self.last_beat[name] = self.clock.now()
            self.sweep(name)

    def sweep(self, name: str) -> None:
        ctx, now = self.ctx, self.clock.now()
        body: Callable[[], object] = {
            "reconcile_payments": lambda: reconcile.reconcile_payments(ctx, now),
            "reconcile_payouts": lambda: payouts.reconcile(ctx, now, PAYOUT_STATUS_AFTER,
                                                           PAYOUT_REQUEUE_AFTER),
            "repair_settlements": lambda: lifecycle.repair_settlements(ctx),
            "auto_release": lambda: lifecycle.auto_release_due(ctx, now),
            "expire_unfunded": lambda: lifecycle.expire_unfunded(ctx, now),
            "requeue_callbacks": lambda: reconcile.requeue_stale_callbacks(ctx, self.inbox,
                                                                           now),
        }[name]
        self.counts[name] = self.counts.get(name, 0) + 1
        try:
            status, result = self._run(name, body)
        except (ConcurrencyError, GatewayUnavailable) as transient:
            status, result = f"{type(transient).__name__} (beat runs it again)", None
        except Exception as error:
            self.task_errors.append(f"step {self.step_no}: sweep {name} raised "
                                    f"{type(error).__name__}: {error}")
            status, result = f"FAILED {type(error).__name__}: {error}", None
        if status != "ok" or result:
            self.say(f"beat {name}: {status if status != 'ok' else result}")

    # ------------------------------------------------------------- the run

    def start(self) -> None:
        self.started_at = self.clock.now()
        self.say(f"seed {self.seed}: {len(self.buyers)} buyers, {len(self.sellers)} sellers")

    def step(self) -> str:
        self.step_no += 1
        total = sum(weight for _, weight, _ in self.ops)
        pick = self.rng.uniform(0, total)
        chosen = self.ops[-1]
        for entry in self.ops:
            pick -= entry[1]
            if pick <= 0:
                chosen = entry
                break
        self.clock.advance(seconds=self.rng.uniform(0, 8))
        chosen[2]()
        return chosen[0]

    def hopeless(self) -> set[str]:
        """Payouts nobody can settle: sent with no answer, and M-Pesa never created them
        (Transaction Status says "not found" for ever). They must have raised an alert
        (check_end says so when the queries ran past the alert without one)."""
        return {p.id for p in self.payouts.rows.values()
                if p.status is PayoutStatus.PENDING
                and p.originator_conversation_id not in self.mpesa.transfers
                and (self.alerted(payout=p.id) or p.status_checks >= ALERT_AFTER_CHECKS)}

    def busy(self) -> bool:
        """Anything the janitors have yet to settle."""
        hopeless = self.hopeless()
        return (any(p.is_open for p in self.payments.rows.values())
                or any(i.status == "received" for i in self.inbox.items.values())
                or any(not p.is_final and p.id not in hopeless
                       for p in self.payouts.rows.values()))

    def next_event(self, hopeless: set[str]) -> datetime | None:
        """When something next becomes due: a task, a callback, a janitor's threshold."""
        times = [t.ready_at for t in self.tasks.queue if t.arg not in hopeless]
        times += [d.at for d in self.mpesa.outbox if d.subject not in hopeless]
        for p in self.payments.rows.values():
            if p.status.value == "pending" and p.next_check_at is not None:
                times.append(p.next_check_at)
            elif p.status.value == "queued":
                times.append(p.updated_at + timedelta(seconds=self.ctx.requeue_after_s + 1))
                if p.push_started_at is not None:
                    times.append(p.push_started_at
                                 + timedelta(seconds=self.ctx.push_lost_after_s + 1))
        times += [p.updated_at + PAYOUT_STATUS_AFTER + timedelta(seconds=1)
                  for p in self.payouts.rows.values()
                  if not p.is_final and p.id not in hopeless]
        times += [i.received_at + timedelta(seconds=self.ctx.requeue_after_s + 1)
                  for i in self.inbox.items.values() if i.status == "received"]
        return min(times, default=None)

    def alerted(self, **context: str) -> bool:
        return any(all(ctx.get(k) == v for k, v in context.items())
                   for _, ctx in self.notifier.alerts)

    def drain(self, check: Callable[[], None], max_rounds: int = 3000) -> None:
        """No more crashes or faults: run every janitor, task and callback until all is
        settled and M-Pesa has nothing left to send."""
        self.draining = True
        self.faults.crash_rate = 0
        self.faults.interleave = None
        self.tasks.lose_rate = 0
        self.mpesa.rates = Rates.none()
        self.retries.clear()
        self.say("---- drain: no more faults ----")
        for _ in range(max_rounds):
            self.step_no += 1
            for delivery in sorted(self.mpesa.due(), key=lambda d: (d.at, d.seq)):
                self.receive(delivery)
            for _ in range(500):
                ready = self.tasks.ready()
                if not ready:
                    break
                self.run_task(self.tasks.take(min(ready, key=lambda t: t.seq)))
            for name in SWEEPS:
                self.beat(name)
            check()
            upcoming = self.next_event(self.hopeless())
            if upcoming is None:  # nothing will ever happen again; check_end names what is stuck
                # past every inspection period: delivered deals release themselves
                self.clock.advance(days=31)
                self.sweep("auto_release")
                self.sweep("repair_settlements")
                check()
                return
            now = self.clock.now()
            # beat runs every sweep at least once a minute; nothing happens in between
            self.clock.set(min(max(now + timedelta(seconds=5), upcoming or now),
                               now + timedelta(seconds=30)))
        raise SimFailure(f"the drain did not settle within {max_rounds} rounds")


def _describe(result: object) -> str:
    if isinstance(result, Payment):
        extra = f" {result.result_code}" if result.result_code else ""
        return f"payment {result.id} {result.status.value}{extra}" + (
            " outcome-unknown" if result.outcome_unknown else "")
    if isinstance(result, Payout):
        return f"payout {result.id} {result.status.value} {result.result_code or ''}".strip()
    if isinstance(result, Deal):
        return f"deal {result.id} {result.status.value} v{result.version}"
    if isinstance(result, InboxItem):
        return f"callback {result.id}"
    return repr(result)
