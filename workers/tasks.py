"""Celery tasks: ids in, one use case, named transient failures turned into retries."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from celery import Task

from adapters.container import Container, build
from domain.errors import ConcurrencyError
from domain.ports import GatewayUnavailable
from domain.services import callbacks, payments
from workers import queue
from workers.celery_app import app, settings

RETRY = {
    "autoretry_for": (GatewayUnavailable, ConcurrencyError, ConnectionError),
    "retry_backoff": 2,  # 2, 4, 8 … seconds, drawn at random below that (jitter)
    "retry_backoff_max": 300,  # far below the broker's visibility timeout
    "retry_jitter": True,
    "max_retries": 8,
    "acks_late": True,
    "ignore_result": True,
}
MATCH_WINDOW = timedelta(minutes=2)  # how long a callback may wait for our own write


@cache
def container() -> Container:
    """Built lazily in each worker process (pymongo clients must not cross a fork)."""
    return build(settings, queue.CeleryTaskQueue(app), create_indexes=False)


@app.task(name=queue.REQUEST_STK_PUSH, **RETRY)
def request_stk_push(payment_id: str) -> None:
    c = container()
    payments.send_stk_push(c.ctx, c.gateway(), payment_id)


@app.task(name=queue.PROCESS_STK_CALLBACK, bind=True, **RETRY)
def process_stk_callback(self: Task, callback_id: str) -> None:
    c = container()
    item = c.callbacks.get(callback_id)
    young = item is not None and c.ctx.clock.now() - item.received_at < MATCH_WINDOW
    try:
        callbacks.process_stk_callback(c.ctx, c.callbacks, callback_id, wait_for_match=young)
    except callbacks.NotYetMatched as unmatched:
        raise self.retry(countdown=5, max_retries=30, exc=unmatched) from None
