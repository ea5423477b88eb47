"""Enqueueing tasks by name: what the API may know of the workers."""

from __future__ import annotations

from celery import Celery

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


class CeleryTaskQueue:
    def __init__(self, app: Celery) -> None:
        self._app = app

    def request_stk_push(self, payment_id: str) -> None:
        self._app.send_task(REQUEST_STK_PUSH, args=[payment_id])

    def query_stk(self, payment_id: str) -> None:
        self._app.send_task(QUERY_STK, args=[payment_id])

    def process_callback(self, callback_id: str) -> None:
        self._app.send_task(PROCESS_CALLBACK, args=[callback_id])

    def request_b2c(self, payout_id: str) -> None:
        self._app.send_task(REQUEST_B2C, args=[payout_id])

    def query_payout_status(self, payout_id: str, delay_s: int = 0) -> None:
        self._app.send_task(QUERY_PAYOUT_STATUS, args=[payout_id], countdown=delay_s or None)

    def ping(self) -> None:
        """Raise unless the broker accepts a connection."""
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
