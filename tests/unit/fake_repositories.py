"""In-memory repositories and ledger: the rules their Mongo adapters enforce, and no I/O.

Each keeps the contract of its port: compare-and-set on ``version`` (ConcurrencyError),
idempotent timeline events, notifications and ledger keys (PostingConflict for a different
posting under a taken key), one open payment per deal. A ``fail_next_*`` attribute makes the
next call raise, to stand for a crash between two steps of a use case; the ledger's
``before_next_post`` runs once just before a post, to let a concurrent request slip in.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from domain.deals import Deal, DealStatus, TimelineEvent
from domain.errors import ConcurrencyError, Conflict
from domain.ledger import Posting, PostingConflict
from domain.notifications import Notification
from domain.payments import Payment
from domain.payouts import Payout, PayoutStatus
from domain.ports import DealQuery
from domain.users import User


def _raise_pending(holder: object, name: str) -> None:
    error = getattr(holder, name)
    if error is not None:
        setattr(holder, name, None)
        raise error


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, User] = {}

    def add(self, user: User) -> None:
        if self.by_email(user.email) is not None:
            raise Conflict("an account with this email already exists")
        self.rows[user.id] = user

    def get(self, user_id: str) -> User | None:
        return self.rows.get(user_id)

    def by_email(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)

    def save(self, user: User) -> None:
        """For a test's setup only: the services write through ``update``."""
        self.rows[user.id] = user

    def update(self, before: User, after: User) -> bool:
        stored = self.rows.get(before.id)
        if stored is None or (after.password_hash != before.password_hash
                              and stored.password_hash != before.password_hash):
            return False
        changed = {f.name: getattr(after, f.name) for f in dataclasses.fields(User)
                   if getattr(after, f.name) != getattr(before, f.name)}
        self.rows[before.id] = dataclasses.replace(stored, **changed)
        return True


class FakeDeals:
    def __init__(self) -> None:
        self.rows: dict[str, Deal] = {}
        self.events: dict[tuple[str, int], TimelineEvent] = {}
        self.queries: list[DealQuery] = []
        self.fail_next_save: Exception | None = None
        self.fail_next_record: Exception | None = None
        self.posted: set[str] = set()  # deals whose settlement posting is known to be written

    def add(self, deal: Deal) -> None:
        if deal.id in self.rows:
            raise Conflict(f"deal {deal.id} exists")
        self.rows[deal.id] = deal

    def get(self, deal_id: str) -> Deal | None:
        return self.rows.get(deal_id)

    def save(self, deal: Deal, expected_version: int) -> None:
        _raise_pending(self, "fail_next_save")
        current = self.rows.get(deal.id)
        if current is None or current.version != expected_version:
            raise ConcurrencyError("the deal changed meanwhile")
        self.rows[deal.id] = deal
        self.posted.discard(deal.id)  # like the adapter: a save forgets the mark

    def record_event(self, event: TimelineEvent) -> None:
        _raise_pending(self, "fail_next_record")
        self.events.setdefault((event.deal_id, event.seq), event)

    def timeline(self, deal_id: str) -> Sequence[TimelineEvent]:
        return sorted((e for e in self.events.values() if e.deal_id == deal_id),
                      key=lambda e: e.seq)

    def find(self, query: DealQuery) -> tuple[Sequence[Deal], int]:
        self.queries.append(query)
        found = [d for d in self.rows.values() if _matches(d, query)]
        found.sort(key=lambda d: d.created_at, reverse=True)
        start = (query.page - 1) * query.limit
        return found[start:start + query.limit], len(found)

    def due_for_release(self, now: datetime, limit: int) -> Sequence[Deal]:
        return [d for d in self.rows.values() if d.status is DealStatus.ACTIVE
                and d.inspection_ends_at is not None and d.inspection_ends_at <= now][:limit]

    def unfunded_past_due(self, now: datetime, limit: int) -> Sequence[Deal]:
        return [d for d in self.rows.values() if d.status is DealStatus.PENDING
                and d.due_date is not None and d.due_date <= now][:limit]

    def unposted_settlements(self, limit: int) -> Sequence[Deal]:
        found = [d for d in self.rows.values()
                 if d.settlement is not None and d.id not in self.posted]
        return sorted(found, key=lambda d: d.updated_at)[:limit]

    def mark_settlement_posted(self, deal_id: str) -> None:
        self.posted.add(deal_id)


def _matches(deal: Deal, query: DealQuery) -> bool:
    if query.status is not None and deal.status is not query.status:
        return False
    if query.user_id is None:
        return True
    if query.role == "buyer":
        return deal.buyer_id == query.user_id
    if query.role == "seller":
        return deal.seller_id == query.user_id
    return deal.is_party(query.user_id)


class FakePayments:
    def __init__(self) -> None:
        self.rows: dict[str, Payment] = {}
        self.one_prompt_per_phone = True
        self.fail_next_save: Exception | None = None
        self.finished: set[str] = set()

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

    def by_receipt(self, receipt: str) -> Payment | None:
        return next((p for p in self.rows.values() if p.receipt == receipt), None)

    def for_deal(self, deal_id: str) -> Sequence[Payment]:
        return [p for p in self.rows.values() if p.deal_id == deal_id]

    def in_doubt_for(self, phone: str) -> Sequence[Payment]:
        return [p for p in self.rows.values() if p.phone == phone
                and p.checkout_request_id is None and p.push_started_at is not None
                and (p.outcome_unknown or p.status.value == "queued")]

    def open_push_to(self, phone: str, other_than: str) -> Payment | None:
        """Like the adapter, minus its 3-minute prompt lifetime (no clock here). Tests about
        other things (the books) may switch the one-prompt-per-phone rule off."""
        if not self.one_prompt_per_phone:
            return None
        return next((p for p in self.rows.values() if p.phone == phone and p.id != other_than
                     and p.is_open and p.push_started_at is not None), None)

    def due_for_check(self, now: datetime, limit: int) -> Sequence[Payment]:
        return [p for p in self.rows.values() if p.status.value == "pending"
                and p.next_check_at is not None and p.next_check_at <= now][:limit]

    def unfinished(self, before: datetime, limit: int) -> Sequence[Payment]:
        found = [p for p in self.rows.values() if not p.is_open and p.id not in self.finished
                 and p.updated_at < before]
        return sorted(found, key=lambda p: p.updated_at)[:limit]

    def mark_finished(self, payment_id: str) -> None:
        self.finished.add(payment_id)
        if payment_id in self.rows:
            self.rows[payment_id] = dataclasses.replace(self.rows[payment_id], finished=True)

    def stale_queued(self, before: datetime, limit: int) -> Sequence[Payment]:
        return [p for p in self.rows.values()
                if p.status.value == "queued" and p.updated_at < before][:limit]

    def save(self, payment: Payment, expected_version: int) -> None:
        _raise_pending(self, "fail_next_save")
        current = self.rows.get(payment.id)
        if current is None or current.version != expected_version:
            raise ConcurrencyError("the payment changed meanwhile")
        self.rows[payment.id] = dataclasses.replace(payment, finished=False)
        self.finished.discard(payment.id)


class FakeLedger:
    def __init__(self) -> None:
        self.postings: dict[str, Posting] = {}
        self.attempts: list[str] = []
        self.fail_next_post: Exception | None = None
        self.before_next_post: Callable[[Posting], object] | None = None
        self.after_next_balance: Callable[[str], object] | None = None

    def post(self, posting: Posting) -> bool:
        hook, self.before_next_post = self.before_next_post, None
        if hook is not None:
            hook(posting)
        _raise_pending(self, "fail_next_post")
        self.attempts.append(posting.key)
        held = self.postings.get(posting.key)
        if held is None:
            self.postings[posting.key] = posting
            return True
        if (held.lines, held.memo, held.kind) != (posting.lines, posting.memo, posting.kind):
            raise PostingConflict(f"posting {posting.key} is another posting")
        return False

    def postings_for_deal(self, deal_id: str) -> Sequence[Posting]:
        return [p for p in self.postings.values() if p.deal_id == deal_id]

    def postings_for_account(self, account: str, limit: int = 100) -> Sequence[Posting]:
        touching = [p for p in self.postings.values() if p.amount_for(account) != 0]
        return touching[::-1][:limit]  # the newest first

    def get(self, key: str) -> Posting | None:
        return self.postings.get(key)

    def balance(self, account: str) -> int:
        total = sum(p.amount_for(account) for p in self.postings.values())
        hook, self.after_next_balance = self.after_next_balance, None
        if hook is not None:  # a concurrent request slips in between this read and the next
            hook(account)
        return total

    def count(self, account: str, kind: str) -> int:
        return sum(1 for p in self.postings.values()
                   if p.kind == kind and p.amount_for(account) != 0)

    def total(self) -> int:
        """The sum over every account: zero, always."""
        return sum(line.amount for p in self.postings.values() for line in p.lines)


class FakePayouts:
    def __init__(self) -> None:
        self.rows: dict[str, Payout] = {}
        self.status_queries: dict[str, str] = {}  # query id -> payout id
        self.fail_next_save: Exception | None = None

    def add(self, payout: Payout) -> Payout:
        holder = self.by_idempotency_key(payout.user_id, payout.idempotency_key)
        if holder is not None:
            return holder
        self.rows[payout.id] = payout
        return payout

    def remove_unreserved(self, payout: Payout) -> None:
        if payout.id in self.rows and self.rows[payout.id].status is PayoutStatus.QUEUED:
            del self.rows[payout.id]

    def get(self, payout_id: str) -> Payout | None:
        return self.rows.get(payout_id)

    def by_idempotency_key(self, user_id: str, key: str) -> Payout | None:
        return next((p for p in self.rows.values()
                     if p.user_id == user_id and p.idempotency_key == key), None)

    def by_conversation(self, originator_conversation_id: str) -> Payout | None:
        return next((p for p in self.rows.values()
                     if p.originator_conversation_id == originator_conversation_id), None)

    def by_status_query(self, query_id: str) -> Payout | None:
        payout_id = self.status_queries.get(query_id)
        return self.rows.get(payout_id) if payout_id else None

    def record_status_query(self, payout_id: str, query_id: str) -> None:
        self.status_queries[query_id] = payout_id

    def save(self, payout: Payout, expected_version: int) -> None:
        _raise_pending(self, "fail_next_save")
        current = self.rows.get(payout.id)
        if current is None or current.version != expected_version:
            raise ConcurrencyError("the payout changed meanwhile")
        self.rows[payout.id] = payout

    def stale(self, status: str, before: datetime, limit: int) -> Sequence[Payout]:
        return [p for p in self.rows.values()
                if p.status == status and p.updated_at < before][:limit]

    def for_user(self, user_id: str, limit: int) -> Sequence[Payout]:
        mine = [p for p in self.rows.values() if p.user_id == user_id]
        return sorted(mine, key=lambda p: p.created_at, reverse=True)[:limit]


class FakeNotifications:
    def __init__(self) -> None:
        self.rows: dict[str, Notification] = {}
        self.fail_next_add: Exception | None = None

    def add(self, notification: Notification) -> bool:
        _raise_pending(self, "fail_next_add")
        if notification.id in self.rows:
            return False
        self.rows[notification.id] = notification
        return True

    def find(self, user_id: str, unread_only: bool, page: int,
             limit: int) -> tuple[Sequence[Notification], int]:
        mine = [n for n in self.rows.values()
                if n.user_id == user_id and not (unread_only and n.read)][::-1]
        return mine[(page - 1) * limit:page * limit], len(mine)

    def mark_read(self, user_id: str, notification_id: str) -> bool:
        note = self.rows.get(notification_id)
        if note is None or note.user_id != user_id:
            return False
        self.rows[note.id] = dataclasses.replace(note, read=True)
        return True

    def mark_all_read(self, user_id: str) -> int:
        unread = [n for n in self.rows.values() if n.user_id == user_id and not n.read]
        for note in unread:
            self.rows[note.id] = dataclasses.replace(note, read=True)
        return len(unread)

    def kinds_for(self, user_id: str) -> list[str]:
        return [n.kind for n in self.rows.values() if n.user_id == user_id]
