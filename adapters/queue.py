"""Enqueueing Celery tasks by name: the TaskQueue port, for the API and the workers alike."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as NotYet

import structlog
from celery import Celery, signals

log = logging.getLogger(__name__)

REQUEST_ID = "request_id"  # the task header that carries the id of the request that caused it

BACKGROUND_SENDERS = 4  # threads sending what a caller would not wait for (callbacks' tasks)
BACKGROUND_BACKLOG = 256  # sends waiting for them at most; beyond, they are left to the janitor

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
    (queued payments and payouts, received callbacks: docs/reconciliation.md).

    One send is one attempt, never retried here: with the broker's socket timeouts
    (REDIS_TIMEOUT_S, adapters/celery_factory.py) a hung Redis costs the caller one timeout,
    not Celery's default four attempts and their reconnections."""

    def __init__(self, app: Celery) -> None:
        self._app = app
        self._background: ThreadPoolExecutor | None = None
        self._backlog = threading.BoundedSemaphore(BACKGROUND_BACKLOG)
        self._starting = threading.Lock()

    def _send(self, name: str, args: list[str], countdown: int | None = None,
              request_id: str | None = None) -> bool:
        request_id = request_id or current_request_id()
        headers = {REQUEST_ID: request_id} if request_id else None
        try:
            self._app.send_task(name, args=args, countdown=countdown, retry=False,
                                headers=headers)
            return True
        except Exception:  # the broker is down; the janitor will find the record
            log.exception("could not enqueue", extra={"task": name, "task_args": args})
            return False

    def process_callback_within(self, callback_id: str, wait_s: float) -> bool:
        """Enqueue a stored callback's processing, waiting for the broker ``wait_s`` at
        most: True if it was enqueued by then. Otherwise the send goes on in the background
        (a callback processed twice is a no-op) and the caller answers M-Pesa anyway; one that
        fails is left to the janitor."""
        if not self._backlog.acquire(blocking=False):
            log.error("could not enqueue: too many sends wait for the broker",
                      extra={"task": PROCESS_CALLBACK, "task_args": [callback_id]})
            return False
        try:  # the sender thread does not see this request's context: pass its id along
            sent = self._senders().submit(self._send_released, PROCESS_CALLBACK, [callback_id],
                                          current_request_id())
        except RuntimeError:  # the process is shutting down
            self._backlog.release()
            return False
        try:
            return sent.result(timeout=wait_s)
        except NotYet:
            log.warning("the broker is slow; enqueueing the callback in the background",
                        extra={"callback": callback_id, "waited_s": wait_s})
            return False

    def _send_released(self, name: str, args: list[str], request_id: str | None) -> bool:
        try:
            return self._send(name, args, request_id=request_id)
        finally:
            self._backlog.release()

    def _senders(self) -> ThreadPoolExecutor:
        with self._starting:  # made on first use: never before a fork
            if self._background is None:
                self._background = ThreadPoolExecutor(BACKGROUND_SENDERS,
                                                      thread_name_prefix="enqueue")
            return self._background

    def send(self, name: str, **kwargs: str) -> bool:
        """Enqueue any task by name (an operator's sweep now, as beat would)."""
        try:
            self._app.send_task(name, kwargs=kwargs, retry=False)
            return True
        except Exception:
            log.exception("could not enqueue", extra={"task": name})
            return False

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
        """Raise unless the broker accepts a connection (one try, within its socket timeouts)."""
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=0)


def current_request_id() -> str | None:
    """The id of the request (or of the task's originating request) this thread works for."""
    value = structlog.contextvars.get_contextvars().get(REQUEST_ID)
    return str(value) if value else None


@signals.before_task_publish.connect  # type: ignore[untyped-decorator]
def _carry_the_request_id(headers: dict[str, object] | None = None, **_: object) -> None:
    """Whatever sends a task from a request or a task (a retry, ``send_task`` by hand) passes
    the request id on, so a task's follow-ups log under the id of the request that caused them."""
    request_id = current_request_id()
    if headers is not None and request_id and not headers.get(REQUEST_ID):
        headers[REQUEST_ID] = request_id
