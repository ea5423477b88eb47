"""Socket.IO events to the parties' rooms, published through the Redis message queue."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
import sentry_sdk
from socketio import RedisManager

from adapters.metrics import count_alert
from adapters.presenters import present_deal, present_notification, present_payment
from adapters.redis_store import DEFAULT_TIMEOUT_S, client_options
from domain.deals import Deal
from domain.money import CURRENCY
from domain.notifications import Notification
from domain.payments import Payment

log = logging.getLogger(__name__)


def room(user_id: str) -> str:
    return f"user:{user_id}"


QUIET_AFTER_FAILURE_S = 5.0


class _Publisher(RedisManager):  # type: ignore[misc]
    """Socket.IO's Redis message queue, write-only, with bounded Redis calls. A publish that
    fails (python-socketio tries twice, then gives up and logs) makes the next ones be dropped
    for ``QUIET_AFTER_FAILURE_S``: with Redis hung, each emit would otherwise cost two timeouts."""

    def __init__(self, url: str, channel: str, timeout_s: float) -> None:
        super().__init__(url, channel=channel, write_only=True,
                         redis_options=client_options(timeout_s))
        self._quiet_until = 0.0

    def _publish(self, data: Any) -> Any:
        if time.monotonic() < self._quiet_until:
            return None
        published = super()._publish(data)
        if published is None:  # gave up
            self._quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        return published


class SocketNotifier:
    """Write-only: any process (API or worker) can emit; delivery is at most once."""

    def __init__(self, redis_url: str, channel: str,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._io = _Publisher(redis_url, channel, timeout_s)
        self._counts = redis.Redis.from_url(redis_url, **client_options(timeout_s))  # lazy

    def deal_changed(self, deal: Deal, event: str) -> None:
        self._emit(event, present_deal(deal), deal.buyer_id, deal.seller_id)

    def payment_changed(self, payment: Payment, deal: Deal) -> None:
        self._emit("payment:updated", present_payment(payment), deal.buyer_id, deal.seller_id)

    def notify(self, notification: Notification) -> None:
        self._emit("notification", present_notification(notification), notification.user_id)

    def wallet_changed(self, user_id: str, balance: int) -> None:
        self._emit("wallet:updated", {"balance": balance, "currency": CURRENCY}, user_id)

    def alert(self, message: str, **context: str) -> None:
        log.error(message, extra={"alert": True, **context})
        count_alert(self._counts, message)  # escrow_alerts_total, whichever process raised it
        with sentry_sdk.new_scope() as scope:
            for key, value in context.items():
                scope.set_tag(key, value)
            sentry_sdk.capture_message(message, level="error")

    def _emit(self, event: str, data: dict[str, object], *user_ids: str) -> None:
        rooms = [room(user_id) for user_id in dict.fromkeys(user_ids)]
        try:  # one message on the queue for every room (a client in two gets it once)
            self._io.emit(event, data, to=rooms if len(rooms) > 1 else rooms[0])
        except Exception:  # a lost hint must never undo a committed state change
            log.exception("socket.io emit failed", extra={"event": event})
