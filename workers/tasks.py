"""Celery tasks: ids in, one use case, named transient failures turned into retries."""

from __future__ import annotations

import random
import threading
from datetime import datetime, timedelta
from functools import cache

from celery import Task
from pymongo.errors import AutoReconnect, ExecutionTimeout, WaitQueueTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters import queue
from adapters.container import Container, build
from domain.errors import ConcurrencyError
from domain.ports import GatewayUnavailable, PhoneBusy
from domain.services import callbacks, lifecycle, payments, payouts, reconcile
from workers.celery_app import app, settings

RETRY = {
    # Named transient failures only: M-Pesa not reached, a lost compare-and-set, a broker,
    # Redis or Mongo connection that dropped or timed out (AutoReconnect covers a network
    # timeout; MONGO_TIMEOUT_S's operation deadline raises ExecutionTimeout or a pool wait).
    "autoretry_for": (GatewayUnavailable, ConcurrencyError, ConnectionError,
                      RedisConnectionError, RedisTimeoutError, AutoReconnect, ExecutionTimeout,
                      WaitQueueTimeoutError),
    "retry_backoff": 2,  # 2, 4, 8 … seconds, drawn at random below that (jitter)
    "retry_backoff_max": 300,  # far below the broker's visibility timeout
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "ignore_result": True,
}
# How long a callback naming an unknown CheckoutRequestID waits for our own write (it may beat
# the worker that records the push's answer) before it is flagged.
MATCH_WINDOW = timedelta(seconds=settings.callback_match_window_s)
PHONE_BUSY_RETRY_S = 30


_building = threading.Lock()


@cache
def _container() -> Container:
    return build(settings, queue.CeleryTaskQueue(app), create_indexes=False)


def container() -> Container:
    """Built lazily, once per worker process (pymongo clients must not cross a fork), and
    shared by the pool's threads: the first threads to arrive wait for one build."""
    with _building:
        return _container()


def _as_of(now: str | None) -> datetime:
    """Sweeps run as of now; a test may pass an instant. The operator's ``flask sweep --now``
    allows only an earlier one with a timezone, never in production and never for a sweep
    that moves or cancels money (api/cli.py)."""
    return datetime.fromisoformat(now) if now else container().ctx.clock.now()


@app.task(name=queue.REQUEST_STK_PUSH, bind=True, **RETRY)
def request_stk_push(self: Task, payment_id: str) -> None:
    c = container()
    try:
        payments.send_stk_push(c.ctx, c.gateway(), payment_id)
    except PhoneBusy as busy:  # a prompt is open on that phone: wait for it to close
        # Jittered: two pushes that saw each other's claim and both stood back do not meet again.
        countdown = PHONE_BUSY_RETRY_S + random.uniform(0, PHONE_BUSY_RETRY_S / 3)
        raise self.retry(countdown=countdown, max_retries=10, exc=busy) from None


@app.task(name=queue.QUERY_STK, **RETRY)
def query_stk(payment_id: str) -> None:
    c = container()
    payments.check_payment(c.ctx, c.gateway(), payment_id)


@app.task(name=queue.RECONCILE_PAYMENTS, **RETRY)
def reconcile_payments(now: str | None = None) -> dict[str, int]:
    return reconcile.reconcile_payments(container().ctx, _as_of(now))


@app.task(name=queue.PROCESS_CALLBACK, bind=True, **RETRY)
def process_callback(self: Task, callback_id: str) -> None:
    c = container()
    item = c.callbacks.get(callback_id)
    young = item is not None and c.ctx.clock.now() - item.received_at < MATCH_WINDOW
    try:
        callbacks.process_callback(c.ctx, c.callbacks, c.gateway(), callback_id,
                                   wait_for_match=young)
    except callbacks.NotYetMatched as unmatched:
        raise self.retry(countdown=5, max_retries=30, exc=unmatched) from None


@app.task(name=queue.REQUEST_B2C, **RETRY)
def request_b2c(payout_id: str) -> None:
    c = container()
    payouts.send_b2c(c.ctx, c.gateway(), payout_id)


@app.task(name=queue.QUERY_PAYOUT_STATUS, **RETRY)
def query_payout_status(payout_id: str) -> None:
    c = container()
    payouts.check_status(c.ctx, c.gateway(), payout_id)


@app.task(name=queue.AUTO_RELEASE, **RETRY)
def auto_release(now: str | None = None) -> list[str]:
    return lifecycle.auto_release_due(container().ctx, _as_of(now))


@app.task(name=queue.EXPIRE_UNFUNDED, **RETRY)
def expire_unfunded(now: str | None = None) -> list[str]:
    return lifecycle.expire_unfunded(container().ctx, _as_of(now))


@app.task(name=queue.RECONCILE_PAYOUTS, **RETRY)
def reconcile_payouts(now: str | None = None) -> dict[str, int]:
    return payouts.reconcile(container().ctx, _as_of(now),
                             timedelta(seconds=settings.payout_status_after_s),
                             timedelta(seconds=settings.payout_requeue_after_s))


@app.task(name=queue.REPAIR_SETTLEMENTS, **RETRY)
def repair_settlements(now: str | None = None) -> int:
    return lifecycle.repair_settlements(container().ctx)


@app.task(name=queue.REQUEUE_CALLBACKS, **RETRY)
def requeue_callbacks(now: str | None = None) -> int:
    c = container()
    return reconcile.requeue_stale_callbacks(c.ctx, c.callbacks, _as_of(now))
