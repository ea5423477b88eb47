"""Enqueueing Celery tasks by name: the TaskQueue port, for the API and the workers alike."""

from __future__ import annotations

import logging

from celery import Celery

log = logging.getLogger(__name__)

REQUEST_STK_PUSH = "payments.request_stk_push"
QUERY_STK = "payments.query_stk"
RECONCILE_PAYMENTS = "payments.reconcile"
PROCESS_CALLBACK = "callbacks.process"
REQUEST_B2C = "payouts.request_b2c"
QUERY_PAYOUT_STATUS = "payouts.query_status"
AUTO_RELEASE = "deals.auto_release"
EXPIRE_UNFUNDED = "deals.expire_unfunded"
RECONCILE_PAYOUTS = "payouts.reconcile"
REPAIR_SETTLEMENTS = "ledger.repair_settlements"
REQUEUE_CALLBACKS = "callbacks.requeue_stale"


class CeleryTaskQueue:
    """Best-effort enqueueing. The record is already written when we enqueue, so a broker
    outage is logged and left to the janitor, which re-enqueues whatever stays unprocessed
    (queued payments and payouts, received callbacks: docs/reconciliation.md)."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def _send(self, name: str, args: list[str], countdown: int | None = None) -> None:
        try:
            self._app.send_task(name, args=args, countdown=countdown)
        except Exception:  # the broker is down; the janitor will find the record
            log.exception("could not enqueue", extra={"task": name, "args": args})

    def request_stk_push(self, payment_id: str) -> None:
        self._send(REQUEST_STK_PUSH, [payment_id])

    def query_stk(self, payment_id: str) -> None:
        self._send(QUERY_STK, [payment_id])

    def process_callback(self, callback_id: str) -> None:
        self._send(PROCESS_CALLBACK, [callback_id])

    def request_b2c(self, payout_id: str) -> None:
        self._send(REQUEST_B2C, [payout_id])

    def query_payout_status(self, payout_id: str, delay_s: int = 0) -> None:
        self._send(QUERY_PAYOUT_STATUS, [payout_id], delay_s or None)

    def ping(self) -> None:
        """Raise unless the broker accepts a connection."""
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
