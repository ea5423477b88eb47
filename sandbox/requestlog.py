"""A record of every request received on the Daraja paths, for tests and operators."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sandbox.ids import now_utc_iso


@dataclass(frozen=True)
class LoggedRequest:
    id: int
    at: str
    method: str
    path: str
    body: Any
    status: int
    phone: str | None
    checkout_request_id: str | None
    originator_conversation_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "status": self.status,
            "phone": self.phone,
            "checkoutRequestId": self.checkout_request_id,
            "originatorConversationId": self.originator_conversation_id,
        }


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []
        self._next_id = 1
        self._in_flight: dict[int, tuple[str, str | None]] = {}
        self._next_in_flight = 1

    def begin(self, path: str, phone: str | None) -> int:
        """A request has arrived and is being handled (before any latency): its handle."""
        with self._lock:
            handle = self._next_in_flight
            self._next_in_flight += 1
            self._in_flight[handle] = (path, phone)
            return handle

    def end(self, handle: int) -> None:
        with self._lock:
            self._in_flight.pop(handle, None)

    def in_flight(self, path: str | None = None, phone: str | None = None) -> list[dict[str, Any]]:
        """Requests received and not yet answered: a test can act while one is on the wire."""
        with self._lock:
            return [{"path": p, "phone": f} for p, f in self._in_flight.values()
                    if (path is None or p == path) and (phone is None or f == phone)]

    def record(
        self,
        method: str,
        path: str,
        body: Any,
        status: int,
        phone: str | None = None,
        checkout_request_id: str | None = None,
        originator_conversation_id: str | None = None,
    ) -> None:
        with self._lock:
            entry = LoggedRequest(
                self._next_id,
                now_utc_iso(),
                method,
                path,
                body,
                status,
                phone,
                checkout_request_id,
                originator_conversation_id,
            )
            self._entries.append(entry)
            self._next_id += 1

    def entries(self, path: str | None = None, phone: str | None = None) -> list[LoggedRequest]:
        """Entries in arrival order, optionally only those with this exact path and/or phone."""
        with self._lock:
            return [
                entry
                for entry in self._entries
                if (path is None or entry.path == path) and (phone is None or entry.phone == phone)
            ]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
