"""The floors, measured in the same run as the figures they stand beside: a bare Flask LPUSH
endpoint, Celery no-op tasks on our broker and pools, single-client inserts on nx-27017."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import redis
from pymongo import MongoClient

from adapters.celery_factory import make_celery
from adapters.settings import Settings
from bench import wrk
from bench.apps import floor, noop
from bench.figures import figure
from bench.system import Layout, start_app
from tests.stack import BIN, Stack

CONNECTIONS = 32  # the ingest figure's concurrency


def lpush(stack: Stack, load: str, layout: Layout, seconds: float, rounds: int) -> dict[str, Any]:
    """Requests/s of bench/apps/floor.py under the API's gunicorn flags, at 32 connections."""
    url = start_app(stack, "floor", "bench.apps.floor:app", layout.api_workers,
                    layout.api_threads) + "/push"
    try:
        wrk.run(load, url, "load.lua", 2, CONNECTIONS, "push", "254730000000", "202")  # warm-up
        runs = [wrk.run(load, url, "load.lua", seconds, CONNECTIONS, "push", "254730000000",
                        "202") for _ in range(rounds)]
    finally:
        stack.stop("floor")
        redis.Redis.from_url(stack.env["REDIS_URL"]).delete(floor.KEY)
    return {"requests_per_s": figure([r.ok_per_second for r in runs], "req/s"),
            "p50_ms": figure([r.p50_ms for r in runs], "ms"),
            "p99_ms": figure([r.p99_ms for r in runs], "ms"),
            "errors": sum(r.bad for r in runs)}


def celery(stack: Stack, threads: int, tasks: int, rounds: int) -> dict[str, Any]:
    """No-op tasks/s through one worker of ``threads`` threads (-P threads, as our pools).

    Each round fills the queue first, then starts the worker, and times from the first task
    acknowledged to the last (queue length plus unacknowledged messages, read from Redis):
    the worker's start-up is not counted, the producer is not the limit."""
    broker = redis.Redis.from_url(stack.env["REDIS_URL"])
    producer = make_celery(Settings(redis_url=stack.env["REDIS_URL"]))
    rates = []
    for _ in range(rounds):
        with producer.producer_or_acquire() as publisher:
            for _ in range(tasks):
                producer.send_task(noop.NAME, queue=noop.QUEUE, producer=publisher)
        stack.start("noop", [str(BIN / "celery"), "-A", "bench.apps.noop", "worker",
                             "-Q", noop.QUEUE, "-P", "threads", "-c", str(threads), "-l", "INFO",
                             "--without-mingle", "--without-gossip", "-n", "noop@%h"])
        try:
            rates.append(_drain_rate(broker, tasks))
        finally:
            stack.stop("noop")
    return {"tasks_per_s": figure(rates, "tasks/s"), "threads": threads, "tasks": tasks}


def _drain_rate(broker: redis.Redis, total: int, timeout: float = 300) -> float:
    def remaining() -> int:
        pipe = broker.pipeline()
        pipe.llen(noop.QUEUE).hlen("unacked")
        waiting, unacked = pipe.execute()
        return int(waiting) + int(unacked)

    deadline = time.monotonic() + timeout
    started = left = None
    while left != 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the no-op worker left {left} of {total} tasks")
        left = remaining()
        if started is None and left < total:
            started, first = time.perf_counter(), left
        time.sleep(0.002)  # polling the condition: Redis tells no one when a list empties
    return first / (time.perf_counter() - started)


def mongo(stack: Stack, inserts: int, rounds: int) -> dict[str, Any]:
    """``insert_one`` per second from one client, one payment-sized document at a time."""
    client: MongoClient[dict[str, Any]] = MongoClient(stack.env["MONGO_URL"], tz_aware=True)
    collection = client[stack.env["MONGO_DB"]]["bench_inserts"]
    rates = []
    try:
        for r in range(rounds + 1):  # the first round warms up
            started = time.perf_counter()
            for i in range(inserts):
                collection.insert_one(_payment_like(f"{r}-{i}"))
            rates.append(inserts / (time.perf_counter() - started))
    finally:
        collection.drop()
        client.close()
    return {"inserts_per_s": figure(rates[1:], "inserts/s"), "inserts": inserts}


def _payment_like(key: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {"_id": f"bench-{key}", "dealId": f"deal-{key}", "payerId": "buyer", "amount": 100,
            "phone": "254720000000", "status": "queued", "method": "mpesa",
            "idempotencyKey": key, "requestHash": "0" * 64, "accountReference": "ESC123456789",
            "createdAt": now, "updatedAt": now, "version": 1, "checks": 0}
