"""Callback delivery from background timers; failures are recorded, never retried (like Daraja)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import requests

from sandbox.ids import now_utc_iso

DELIVERY_TIMEOUT_S = 5.0

JsonObject = dict[str, Any]
CallbackKind = Literal["stk", "b2c_result", "b2c_timeout", "status_result", "reversal_result"]


@dataclass(frozen=True)
class CallbackTag:
    """What a callback is about: its kind and the id a test or operator finds it by."""

    kind: CallbackKind
    checkout_request_id: str | None = None
    """The push's CheckoutRequestID (STK callbacks only)."""
    originator_conversation_id: str | None = None
    """The OriginatorConversationID inside the body (every kind but STK)."""

    @classmethod
    def stk(cls, checkout_request_id: str) -> CallbackTag:
        return cls("stk", checkout_request_id=checkout_request_id)


@dataclass(frozen=True)
class DeliveryAttempt:
    tag: CallbackTag
    url: str
    body: JsonObject
    at: str
    status: int | None
    error: str | None

    def to_json(self) -> JsonObject:
        return {
            "kind": self.tag.kind,
            "checkoutRequestId": self.tag.checkout_request_id,
            "originatorConversationId": self.tag.originator_conversation_id,
            "url": self.url,
            "body": self.body,
            "at": self.at,
            "status": self.status,
            "error": self.error,
        }


class CallbackDispatcher:
    """Posts callbacks after a delay and keeps a record of every attempt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._attempts: list[DeliveryAttempt] = []
        self._timers: list[threading.Timer] = []
        self._generation = 0

    def schedule(
        self, tag: CallbackTag, url: str, body: JsonObject, delays_s: Sequence[float]
    ) -> None:
        """Post ``body`` to ``url`` once per entry of ``delays_s`` (seconds from now)."""
        with self._lock:
            self._timers = [timer for timer in self._timers if timer.is_alive()]
            for delay_s in delays_s:
                args = (self._generation, tag, url, body)
                timer = threading.Timer(delay_s, self._deliver, args=args)
                timer.daemon = True
                timer.start()
                self._timers.append(timer)

    def attempts(self) -> list[DeliveryAttempt]:
        with self._lock:
            return list(self._attempts)

    def reset(self) -> None:
        """Forget every attempt and cancel deliveries that have not started yet."""
        with self._lock:
            for timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._attempts.clear()
            self._generation += 1

    def _deliver(self, generation: int, tag: CallbackTag, url: str, body: JsonObject) -> None:
        at = now_utc_iso()
        status: int | None = None
        error: str | None = None
        try:
            status = requests.post(url, json=body, timeout=DELIVERY_TIMEOUT_S).status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = DeliveryAttempt(tag, url, body, at, status, error)
        with self._lock:
            if generation == self._generation:
                self._attempts.append(attempt)
