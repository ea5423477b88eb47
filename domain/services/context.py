"""The ports a use case may touch, handed over in one bundle."""

from __future__ import annotations

from dataclasses import dataclass

from domain.ports import (
    Clock,
    DealRepository,
    IdFactory,
    Ledger,
    NotificationRepository,
    Notifier,
    PasswordHasher,
    PaymentRepository,
    PayoutRepository,
    TaskQueue,
    UserRepository,
)


@dataclass(frozen=True)
class Context:
    users: UserRepository
    deals: DealRepository
    payments: PaymentRepository
    ledger: Ledger
    clock: Clock
    ids: IdFactory
    tasks: TaskQueue
    notifier: Notifier
    hasher: PasswordHasher
    payouts: PayoutRepository
    notifications: NotificationRepository
    fee_rate_bps: int = 0  # platform fee taken from the seller's share at release
    # Seconds before each STK Query of a pending payment (docs/reconciliation.md); when they
    # run out with no final answer the payment is closed as failed, reason "UNRESOLVED".
    stk_query_delays_s: tuple[int, ...] = (60, 60, 120, 240, 480, 960, 1920)
    requeue_after_s: int = 60  # a payment still queued this long had its task lost
    # A claimed push with no recorded answer after this long had its worker die. Longer than
    # the slowest push can take: a token fetch and two sends, each connect + read timeouts.
    push_lost_after_s: int = 120
