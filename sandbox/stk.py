"""STK push state: created pushes, one open prompt per subscriber, spike arrest, outcomes."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sandbox.errors import spike_arrest, subscriber_locked
from sandbox.ids import ReceiptBook, checkout_request_id, merchant_request_id, now_eat
from sandbox.outcomes import SPIKE_ARREST_PHONE, Outcome, outcome_for
from sandbox.validation import PushRequest


@dataclass(frozen=True)
class Push:
    """An accepted push and its predetermined answer."""

    merchant_request_id: str
    checkout_request_id: str
    request: PushRequest
    outcome: Outcome
    pushed_on: datetime
    """EAT wall time at which the push was accepted."""
    answer_at: float
    """Clock time at which the customer answers (the callback time)."""
    answered_on: datetime
    """EAT wall time of the answer: the callback's TransactionDate."""
    receipt: str | None
    """MpesaReceiptNumber, for successful outcomes only."""


class PushStore:
    """Every push of one sandbox instance, guarded by a lock."""

    def __init__(
        self,
        answer_delay_s: float,
        clock: Callable[[], float] = time.monotonic,
        receipts: ReceiptBook | None = None,
    ) -> None:
        self._answer_delay_s = answer_delay_s
        self._clock = clock
        self._receipts = receipts if receipts is not None else ReceiptBook()
        self._lock = threading.Lock()
        self._push_by_id: dict[str, Push] = {}
        self._latest_by_phone: dict[str, Push] = {}
        self._attempts_by_phone: Counter[str] = Counter()

    def create(self, request: PushRequest) -> Push:
        """Accept a push, or raise spike arrest / subscriber locked without creating anything."""
        with self._lock:
            now = self._clock()
            self._check_spike_arrest(request.phone)
            self._check_subscriber_free(request.phone, now)
            created_on = now_eat()
            answered_on = created_on + timedelta(seconds=self._answer_delay_s)
            outcome = outcome_for(request.phone)
            push = Push(
                merchant_request_id=merchant_request_id(),
                checkout_request_id=self._unique_checkout_id(created_on, request.phone),
                request=request,
                outcome=outcome,
                pushed_on=created_on,
                answer_at=now + self._answer_delay_s,
                answered_on=answered_on,
                receipt=self._receipts.issue(answered_on.date()) if outcome.succeeded else None,
            )
            self._push_by_id[push.checkout_request_id] = push
            self._latest_by_phone[request.phone] = push
        return push

    def find(self, checkout_request_id: str) -> Push | None:
        with self._lock:
            return self._push_by_id.get(checkout_request_id)

    def is_answered(self, push: Push) -> bool:
        return self._clock() >= push.answer_at

    def reset(self) -> None:
        with self._lock:
            self._push_by_id.clear()
            self._latest_by_phone.clear()
            self._attempts_by_phone.clear()

    def _check_spike_arrest(self, phone: str) -> None:
        """The test phone's odd-numbered attempts (1st, 3rd, ...) hit the rate limit."""
        if phone != SPIKE_ARREST_PHONE:
            return
        self._attempts_by_phone[phone] += 1
        if self._attempts_by_phone[phone] % 2 == 1:
            raise spike_arrest()

    def _check_subscriber_free(self, phone: str, now: float) -> None:
        latest = self._latest_by_phone.get(phone)
        if latest is not None and now < latest.answer_at:
            raise subscriber_locked()

    def _unique_checkout_id(self, created_on: datetime, phone: str) -> str:
        """Move on by a millisecond while the id is taken, so the format stays Daraja's."""
        candidate = checkout_request_id(created_on, phone)
        while candidate in self._push_by_id:
            created_on += timedelta(milliseconds=1)
            candidate = checkout_request_id(created_on, phone)
        return candidate
