"""Callback delivery from background timers; failures are recorded, never retried (like Daraja)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from sandbox.ids import now_utc_iso

DELIVERY_TIMEOUT_S = 5.0

JsonObject = dict[str, Any]


@dataclass(frozen=True)
class DeliveryAttempt:
    checkout_request_id: str
    url: str
    body: JsonObject
    at: str
    status: int | None
    error: str | None

    def to_json(self) -> JsonObject:
        return {
            "checkoutRequestId": self.checkout_request_id,
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
        self, checkout_request_id: str, url: str, body: JsonObject, delays_s: Sequence[float]
    ) -> None:
        """Post ``body`` to ``url`` once per entry of ``delays_s`` (seconds from now)."""
        with self._lock:
            self._timers = [timer for timer in self._timers if timer.is_alive()]
            for delay_s in delays_s:
                args = (self._generation, checkout_request_id, url, body)
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

    def _deliver(
        self, generation: int, checkout_request_id: str, url: str, body: JsonObject
    ) -> None:
        at = now_utc_iso()
        status: int | None = None
        error: str | None = None
        try:
            status = requests.post(url, json=body, timeout=DELIVERY_TIMEOUT_S).status_code
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempt = DeliveryAttempt(checkout_request_id, url, body, at, status, error)
        with self._lock:
            if generation == self._generation:
                self._attempts.append(attempt)
