"""Which session each socket of this process was opened with, so that a socket ends with its
session: revoked (announced on Redis by whichever API process revoked it) or expired.

One daemon thread per process, started by the first connection: it listens for revocations,
closes sockets whose token expired, and every ``RECHECK_S`` asks Redis again about every
socket, which catches an announcement missed while Redis was unreachable."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from adapters.redis_store import Revocations

log = logging.getLogger(__name__)
RECHECK_S = 15.0


@dataclass(frozen=True)
class Held:
    jti: str
    family: str | None
    user_id: str
    generation: int
    exp: float

    def matches(self, message: dict[str, Any]) -> bool:
        if "jti" in message:
            return bool(message["jti"] == self.jti)
        if "family" in message:
            return self.family is not None and message["family"] == self.family
        return bool(message.get("user") == self.user_id
                    and self.generation < int(message.get("generation", 0)))


class SocketSessions:
    def __init__(self, subscriber: redis.Redis, revocations: Revocations,
                 disconnect: Callable[[str], None]) -> None:
        self._subscriber = subscriber
        self._revocations = revocations
        self._disconnect = disconnect
        self._held: dict[str, Held] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rechecked = time.monotonic()

    def add(self, sid: str, held: Held) -> None:
        with self._lock:
            self._held[sid] = held
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="socket-sessions",
                                                daemon=True)
                self._thread.start()

    def remove(self, sid: str) -> None:
        with self._lock:
            self._held.pop(sid, None)

    def _close(self, matching: Callable[[Held], bool]) -> None:
        with self._lock:
            gone = [sid for sid, held in self._held.items() if matching(held)]
            for sid in gone:
                del self._held[sid]
        for sid in gone:
            try:
                self._disconnect(sid)
            except Exception:  # already gone: nothing to close
                log.info("socket already closed", extra={"sid": sid})

    def _run(self) -> None:
        pubsub = None
        while True:
            try:
                if pubsub is None:
                    pubsub = self._subscriber.pubsub(  # type: ignore[no-untyped-call]
                        ignore_subscribe_messages=True)
                    pubsub.subscribe(str(self._revocations.channel))
                message = pubsub.get_message(timeout=1.0)
                if message and isinstance(message.get("data"), str):
                    self._announced(json.loads(message["data"]))
            except Exception as error:  # Redis away, or a malformed message: never stop
                log.warning("revocation channel failed", extra={"error": repr(error)})
                pubsub = None
                time.sleep(1.0)  # then subscribe again (expiries are still swept below)
            self._sweep()

    def _announced(self, message: dict[str, Any]) -> None:
        self._close(lambda held: held.matches(message))

    def _sweep(self) -> None:
        now = time.time()
        self._close(lambda held: held.exp <= now)
        if time.monotonic() - self._rechecked < RECHECK_S:
            return
        self._rechecked = time.monotonic()
        try:
            self._close(lambda held: self._revocations.is_blocked(
                held.jti, held.family, held.user_id, held.generation))
        except redis.RedisError:  # tried again at the next re-check
            pass
