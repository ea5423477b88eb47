"""What the use cases need from the outside world, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.audit import AuditQuery, AuditRecord
from domain.deals import Deal, DealStatus, TimelineEvent
from domain.ledger import Posting
from domain.notifications import Notification
from domain.payments import Payment
from domain.payouts import Payout
from domain.users import User


class Clock(Protocol):
    def now(self) -> datetime: ...


class IdFactory(Protocol):
    def new_id(self) -> str: ...

    def new_reference(self) -> str:
        """At least 20 random alphanumerics: for identifiers we send to M-Pesa, which must not
        be derivable from anything the API shows."""


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, so unknown emails cannot be told apart."""

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters than the hasher's current ones."""


class LoginAttempts(Protocol):
    """Sign-in attempts counted per account (by normalised email), whatever the client.

    An attempt is counted *before* its password is checked, in one atomic step that also
    refuses it when the account is locked: so parallel guesses get no more checks than the
    threshold (counting after the check, every guess in flight would pass the lock)."""

    def begin(self, email: str) -> bool:
        """Count an attempt; False (and nothing counted) when the account is locked."""

    def succeeded(self, email: str) -> None:
        """The password was right: the count starts again."""


class UserRepository(Protocol):
    def add(self, user: User) -> None:
        """Raises Conflict when the email is taken."""

    def get(self, user_id: str) -> User | None: ...
    def by_email(self, email: str) -> User | None: ...

    def update(self, before: User, after: User) -> bool:
        """Write only the fields in which ``after`` differs from ``before`` (the record as it
        was read), so that two edits of different fields never undo each other; a new password
        hash only if the stored one is still ``before``'s. False if the user is gone, or the
        hash changed meanwhile (nothing written)."""


@dataclass(frozen=True)
class DealQuery:
    user_id: str | None  # None: every deal (admins)
    role: str | None = None  # "buyer" / "seller": only deals where the user has that role
    status: DealStatus | None = None
    page: int = 1
    limit: int = 20


class DealRepository(Protocol):
    def add(self, deal: Deal) -> None: ...
    def get(self, deal_id: str) -> Deal | None: ...
    def save(self, deal: Deal, expected_version: int) -> None:
        """Compare-and-set on version; raises ConcurrencyError when somebody else won."""

    def record_event(self, event: TimelineEvent) -> None:
        """Append a timeline event; writing the same (deal, seq) twice is a no-op."""

    def timeline(self, deal_id: str) -> Sequence[TimelineEvent]: ...
    def find(self, query: DealQuery) -> tuple[Sequence[Deal], int]: ...
    def due_for_release(self, now: datetime, limit: int) -> Sequence[Deal]:
        """Active deals whose inspection period ended at or before ``now``."""

    def unfunded_past_due(self, now: datetime, limit: int) -> Sequence[Deal]:
        """Pending deals whose due date passed at or before ``now``."""

    def unposted_settlements(self, limit: int) -> Sequence[Deal]:
        """Settled deals whose ledger posting is not known to be written, oldest first."""

    def mark_settlement_posted(self, deal_id: str) -> None:
        """Record that the deal's settlement posting is written (a later save may forget it:
        that only makes the sweep post it again, a no-op)."""


class PaymentRepository(Protocol):
    def add(self, payment: Payment) -> Payment:
        """Insert; if the (payer, idempotency key) or the deal's open slot is taken,
        return the payment that holds it instead."""

    def get(self, payment_id: str) -> Payment | None: ...
    def by_idempotency_key(self, payer_id: str, key: str) -> Payment | None: ...
    def by_checkout_request_id(self, checkout_request_id: str) -> Payment | None: ...
    def by_receipt(self, receipt: str) -> Payment | None: ...
    def open_for_deal(self, deal_id: str) -> Payment | None: ...
    def in_doubt_for(self, phone: str) -> Sequence[Payment]:
        """Payments to ``phone`` whose push was claimed but whose
        CheckoutRequestID we do not have: being sent right now (queued), or sent with no
        answer (outcome unknown, pending or closed)."""

    def open_push_to(self, phone: str, other_than: str) -> Payment | None:
        """Another payment whose prompt may still be open on ``phone``."""

    def due_for_check(self, now: datetime, limit: int) -> Sequence[Payment]:
        """Pending payments whose next reconciliation check is at or before ``now``."""

    def stale_queued(self, before: datetime, limit: int) -> Sequence[Payment]: ...
    def unfinished(self, before: datetime, limit: int) -> Sequence[Payment]:
        """Final payments not marked finished, last changed before ``before``, oldest first."""

    def mark_finished(self, payment_id: str) -> None:
        """Record that a final payment's consequences are complete (a later save may forget
        it: that only makes the janitor finish it again, a no-op)."""
    def for_deal(self, deal_id: str) -> Sequence[Payment]: ...
    def save(self, payment: Payment, expected_version: int) -> None:
        """Compare-and-set on version; raises ConcurrencyError when somebody else won."""


class Ledger(Protocol):
    def post(self, posting: Posting) -> bool:
        """Write a posting once; False when its key was already written.

        Raises PostingConflict if the key holds a different posting."""

    def postings_for_deal(self, deal_id: str) -> Sequence[Posting]: ...
    def postings_for_account(self, account: str, limit: int) -> Sequence[Posting]: ...
    def get(self, key: str) -> Posting | None: ...
    def balance(self, account: str) -> int: ...
    def count(self, account: str, kind: str) -> int:
        """How many postings of ``kind`` touch ``account``."""


class PayoutRepository(Protocol):
    def add(self, payout: Payout) -> Payout:
        """Insert; if (user, idempotency key) is taken, return the payout that holds it."""

    def remove_unreserved(self, payout: Payout) -> None:
        """Delete a payout whose money was never reserved (it was never visible)."""

    def get(self, payout_id: str) -> Payout | None: ...
    def by_idempotency_key(self, user_id: str, key: str) -> Payout | None: ...
    def by_conversation(self, originator_conversation_id: str) -> Payout | None:
        """By our own OriginatorConversationID (random, never shown to users)."""

    def by_status_query(self, query_id: str) -> Payout | None:
        """By the OriginatorConversationID Daraja gave a Transaction Status query we sent."""

    def record_status_query(self, payout_id: str, query_id: str) -> None:
        """Remember a query we sent; concurrent calls never lose one."""
    def save(self, payout: Payout, expected_version: int) -> None: ...
    def stale(self, status: str, before: datetime, limit: int) -> Sequence[Payout]: ...
    def for_user(self, user_id: str, limit: int) -> Sequence[Payout]: ...


class NotificationRepository(Protocol):
    def add(self, notification: Notification) -> bool:
        """Store once; False when this person was already told of this event."""

    def find(self, user_id: str, unread_only: bool, page: int,
             limit: int) -> tuple[Sequence[Notification], int]: ...
    def mark_read(self, user_id: str, notification_id: str) -> bool: ...
    def mark_all_read(self, user_id: str) -> int: ...


class TaskQueue(Protocol):
    def request_stk_push(self, payment_id: str) -> None: ...
    def query_stk(self, payment_id: str) -> None: ...
    def process_callback(self, callback_id: str) -> None: ...
    def request_b2c(self, payout_id: str) -> None: ...
    def query_payout_status(self, payout_id: str, delay_s: int = 0) -> None: ...


class Notifier(Protocol):
    """Real-time hints to the parties; delivery is at most once."""

    def deal_changed(self, deal: Deal, event: str) -> None: ...
    def payment_changed(self, payment: Payment, deal: Deal) -> None: ...
    def wallet_changed(self, user_id: str, balance: int) -> None: ...
    def notify(self, notification: Notification) -> None:
        """Emit a stored notification to its person."""

    def alert(self, message: str, **context: str) -> None:
        """Tell the operators (error log and Sentry): a person should look at this."""


@dataclass(frozen=True)
class StkAccepted:
    merchant_request_id: str
    checkout_request_id: str


class GatewayRejected(Exception):
    """M-Pesa refused the request for good (a 4xx we caused, a wrong credential)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class GatewayUnavailable(Exception):
    """A transient failure before M-Pesa accepted anything: safe to retry."""


class GatewayOutcomeUnknown(Exception):
    """The request was sent but no answer came back: M-Pesa may or may not have acted."""


class B2cGateway(Protocol):
    def pay(self, payout: Payout) -> str:
        """Send the B2C request; returns Daraja's ConversationID.

        Raises GatewayRejected, GatewayUnavailable or GatewayOutcomeUnknown."""

    def query_status(self, payout: Payout) -> str:
        """Ask Transaction Status about the payout; returns the query's own
        OriginatorConversationID (the answer comes later, as a callback)."""


@dataclass(frozen=True)
class StkStatus:
    """STK Query's answer: ``pending`` (either form Daraja uses), or final with its code."""

    pending: bool
    result_code: str | None = None
    result_desc: str | None = None


class PhoneBusy(GatewayUnavailable):
    """Another prompt is open on the phone: try again in a minute (nothing was created)."""


class StkGateway(Protocol):
    def query(self, payment: Payment) -> StkStatus: ...

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        """Send the STK push.

        Raises GatewayRejected, GatewayUnavailable or GatewayOutcomeUnknown.
        """


@dataclass(frozen=True)
class InboxItem:
    id: str
    kind: str  # "stk", "b2c_result", "b2c_timeout"
    raw: str
    received_at: datetime
    status: str  # "received", "processed", "flagged"


class CallbackInbox(Protocol):
    """Raw callbacks as M-Pesa sent them, stored before we said 200."""

    def get(self, callback_id: str) -> InboxItem | None: ...
    def mark(self, callback_id: str, status: str, outcome: str, now: datetime) -> None: ...
    def stale(self, before: datetime, limit: int) -> Sequence[str]:
        """Ids of callbacks still ``received`` (never processed) since before ``before``."""

    def requeued(self, callback_id: str) -> int:
        """Count one more requeue of a stored callback; returns how many there were."""

    def find(self, status: str | None, page: int,
             limit: int) -> tuple[Sequence[Mapping[str, object]], int]:
        """Stored callbacks as kept (raw body, source, outcome), newest first."""


class AuditLog(Protocol):
    """The audit trail: records are inserted and read, never changed or removed."""

    def insert(self, record: AuditRecord) -> None:
        """Write one record (within the adapter's bound); raises if it was not written."""

    def find(self, query: AuditQuery) -> tuple[Sequence[AuditRecord], int]:
        """Newest first, with the total that matched."""
