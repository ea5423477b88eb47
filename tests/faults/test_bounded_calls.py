"""Every call we make to Redis, the broker or MongoDB gives up on a frozen server within its
bound (REDIS_TIMEOUT_S, MONGO_TIMEOUT_S), and every way they give up is a 503. Real servers,
frozen with SIGSTOP; no API, no worker: each bound is measured alone. The servers are embedded
ones this module starts, whatever MONGO_URL / REDIS_URL `make test` was given."""

from __future__ import annotations

import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from kombu.exceptions import OperationalError
from limits.storage import RedisStorage
from pymongo.errors import (
    AutoReconnect,
    DuplicateKeyError,
    ExecutionTimeout,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
    WaitQueueTimeoutError,
    WTimeoutError,
    _OperationCancelled,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters.celery_factory import make_celery
from adapters.emitter import SocketNotifier
from adapters.mongo.client import connect
from adapters.queue import CeleryTaskQueue
from adapters.redis_store import client_options
from adapters.redis_store import connect as connect_redis
from adapters.settings import Settings
from api.errors import unavailable_dependency
from devstack import services

SETTINGS = Settings()
MARGIN_S = 0.3  # scheduling on two busy cores


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    workdir = Path(tempfile.mkdtemp(prefix="escrow-bounds-"))
    (workdir / "mongo").mkdir()
    redis_port, mongo_port = services.free_port(), services.free_port()
    running = {
        "redis": services.spawn(services.redis_command(redis_port, workdir),
                                log=workdir / "redis.log"),
        "mongo": services.spawn(services.mongo_command(mongo_port, workdir),
                                log=workdir / "mongo.log"),
    }
    try:
        services.wait_for_port(redis_port)
        services.wait_for_port(mongo_port)
        yield {"processes": running, "redis_url": f"redis://127.0.0.1:{redis_port}/0",
               "mongo_url": f"mongodb://127.0.0.1:{mongo_port}"}
    finally:
        for process in running.values():
            os.kill(process.pid, signal.SIGCONT)
            services.stop(process)


@contextmanager
def frozen(servers: dict[str, Any], name: str) -> Iterator[None]:
    pid = servers["processes"][name].pid
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


Outcome = tuple[float, BaseException | None]


def timed(calls: dict[str, Callable[[], object]], cap_s: float = 20.0) -> dict[str, Outcome]:
    """How long each call took and what it raised, all made at once, each in a thread, so
    that one that hangs fails the test after ``cap_s`` instead of hanging it."""
    outcomes: dict[str, Outcome] = {}

    def run(name: str, call: Callable[[], object]) -> None:
        started = time.perf_counter()
        try:
            call()
            outcomes[name] = (time.perf_counter() - started, None)
        except BaseException as exc:
            outcomes[name] = (time.perf_counter() - started, exc)

    threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(cap_s)
    assert set(outcomes) == set(calls), f"{set(calls) - set(outcomes)} still waiting after {cap_s}s"
    return outcomes


def test_an_enqueue_the_broker_refuses_is_logged_and_the_caller_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    closed = f"redis://127.0.0.1:{services.free_port()}/0"  # nothing listens there
    queue = CeleryTaskQueue(make_celery(Settings(redis_url=closed)))
    with caplog.at_level(logging.ERROR, logger="adapters.queue"):
        queue.request_stk_push("a-payment")  # the payment is stored; the janitor resends it
        assert queue.process_callback_within("a-callback", wait_s=1.0) is False
    assert [r.getMessage() for r in caplog.records].count("could not enqueue") == 2


def test_every_redis_call_gives_up_on_a_frozen_redis_within_its_bound(
    servers: dict[str, Any],
) -> None:
    url, bound = servers["redis_url"], SETTINGS.redis_timeout_s
    client = connect_redis(url)
    limiter = RedisStorage(url, **client_options(bound / 2))
    queue = CeleryTaskQueue(make_celery(Settings(redis_url=url)))
    notifier = SocketNotifier(url, "bounded-calls")
    client.ping(), limiter.check(), queue.ping(), queue.query_stk("warm-up")  # connected
    notifier.wallet_changed("someone", 0)
    with frozen(servers, "redis"):
        took = timed({
            "command": lambda: client.exists("jwt:revoked:x"),
            "rate limit": lambda: limiter.incr("k", 60),
            "enqueue": lambda: queue.request_stk_push("p"),
            "callback enqueue": lambda: queue.process_callback_within("c", bound),
            "broker ping": queue.ping,
            "emit": lambda: notifier.wallet_changed("someone", 1),
        })
        took.update(timed({"emit again": lambda: notifier.wallet_changed("someone", 2)}))
    limits = {"rate limit": bound / 2, "broker ping": 2 * bound, "emit": 2 * bound,
              "emit again": 0.0}  # two tries, then quiet for a while instead of two more
    for what, (seconds, _) in took.items():
        assert seconds <= limits.get(what, bound) + MARGIN_S, (what, seconds)
    assert isinstance(took["command"][1], RedisTimeoutError)
    assert isinstance(took["rate limit"][1], RedisTimeoutError)
    assert isinstance(took["broker ping"][1], OperationalError)
    assert all(took[w][1] is None for w in ("enqueue", "callback enqueue", "emit"))
    assert client.ping() and limiter.check()  # back at once after SIGCONT


def test_every_mongo_call_gives_up_on_a_frozen_server_within_its_bound(
    servers: dict[str, Any],
) -> None:
    db = connect(servers["mongo_url"], "bounded_calls")
    db.deals.insert_one({"_id": "warm-up"})
    with frozen(servers, "mongo"):
        took = timed({
            "read": lambda: db.deals.find_one({"_id": "warm-up"}),
            "write": lambda: db.deals.insert_one({"status": "pending"}),
            "ping": lambda: db.command("ping"),
            "cursor": lambda: list(db.deals.find().limit(10)),
        })
    for what, (seconds, raised) in took.items():
        assert seconds <= SETTINGS.mongo_timeout_s + MARGIN_S, (what, seconds)
        assert raised is not None and unavailable_dependency(raised) == "mongo", (what, raised)
    assert db.deals.find_one({"_id": "warm-up"}) is not None


@pytest.mark.parametrize(("error", "dependency"), [
    (RedisTimeoutError("Timeout reading from socket"), "redis"),
    (RedisConnectionError("Connection refused"), "redis"),
    (NetworkTimeout("timed out"), "mongo"),
    (ServerSelectionTimeoutError("no server"), "mongo"),
    (AutoReconnect("connection reset"), "mongo"),
    (_OperationCancelled("the pool was cleared"), "mongo"),
    (WaitQueueTimeoutError("no connection free"), "mongo"),
    (ExecutionTimeout("operation exceeded time limit", 50), "mongo"),
    (WTimeoutError("waiting for replication timed out", 64), "mongo"),
    (OperationalError("Error 111 connecting"), "broker"),
    (DuplicateKeyError("E11000", 11000), None),  # our own bug, not an outage: a 500
    (OperationFailure("bad query", 2), None),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_every_way_a_dependency_fails_or_times_out_is_named_for_the_503(
    error: Exception, dependency: str | None,
) -> None:
    assert unavailable_dependency(error) == dependency
