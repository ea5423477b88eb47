"""Random references for M-Pesa, and the errors a task retries."""

from __future__ import annotations

from pymongo.errors import AutoReconnect, ExecutionTimeout, NetworkTimeout, WaitQueueTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from adapters.runtime import ObjectIdFactory
from domain.mpesa import account_reference


def test_references_are_random_long_and_alphanumeric() -> None:
    ids = ObjectIdFactory()
    references = {ids.new_reference() for _ in range(2000)}
    assert len(references) == 2000
    assert all(len(r) == 26 and r.isalnum() and r.isascii() for r in references)
    accounts = {account_reference(r) for r in references}
    assert len(accounts) == 2000  # 9 of 36 symbols: no collision among a few thousand
    assert all(len(a) <= 12 and a.startswith("ESC") for a in accounts)


def test_tasks_retry_dropped_redis_and_mongo_connections() -> None:
    from workers.tasks import RETRY

    retried = RETRY["autoretry_for"]
    assert isinstance(retried, tuple)
    for error in (RedisConnectionError("gone"), RedisTimeoutError("slow"),
                  AutoReconnect("primary stepped down"), NetworkTimeout("timed out"),
                  ExecutionTimeout("operation exceeded time limit"),
                  WaitQueueTimeoutError("no connection free in time")):
        assert isinstance(error, retried), type(error).__name__


def test_the_container_bounds_its_clients_by_the_settings() -> None:
    from adapters.container import build
    from adapters.settings import Settings

    settings = Settings(mongo_url="mongodb://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0",
                        mongo_timeout_s=0.7, redis_timeout_s=0.3)
    c = build(settings, tasks=None, create_indexes=False)  # type: ignore[arg-type]
    assert c.db.client.options.timeout == 0.7
    assert c.redis.connection_pool.connection_kwargs["socket_timeout"] == 0.3
    assert c.redis.connection_pool.connection_kwargs["socket_connect_timeout"] == 0.3
