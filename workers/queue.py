"""Enqueueing tasks by name: what the API may know of the workers."""

from __future__ import annotations

from celery import Celery

REQUEST_STK_PUSH = "payments.request_stk_push"
PROCESS_STK_CALLBACK = "callbacks.process_stk_callback"


class CeleryTaskQueue:
    def __init__(self, app: Celery) -> None:
        self._app = app

    def request_stk_push(self, payment_id: str) -> None:
        self._app.send_task(REQUEST_STK_PUSH, args=[payment_id])

    def process_stk_callback(self, callback_id: str) -> None:
        self._app.send_task(PROCESS_STK_CALLBACK, args=[callback_id])

    def ping(self) -> None:
        """Raise unless the broker accepts a connection."""
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
