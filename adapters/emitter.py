"""Socket.IO events to the parties' rooms, published through the Redis message queue."""

from __future__ import annotations

import logging

import sentry_sdk
from flask_socketio import SocketIO

from adapters.presenters import present_deal, present_notification, present_payment
from domain.deals import Deal
from domain.money import CURRENCY
from domain.notifications import Notification
from domain.payments import Payment

log = logging.getLogger(__name__)


def room(user_id: str) -> str:
    return f"user:{user_id}"


class SocketNotifier:
    """Write-only: any process (API or worker) can emit; delivery is at most once."""

    def __init__(self, redis_url: str, channel: str) -> None:
        self._io = SocketIO(message_queue=redis_url, channel=channel)

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
