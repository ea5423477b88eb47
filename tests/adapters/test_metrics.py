"""The business collector answers within MONGO_TIMEOUT_S even with MongoDB and Redis gone."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest

from adapters.metrics import BusinessCollector
from adapters.mongo.client import connect
from adapters.redis_store import connect as connect_redis
from devstack.services import free_port


def test_a_scrape_with_mongo_and_redis_unreachable_ends_in_time_and_says_so() -> None:
    db = connect(f"mongodb://127.0.0.1:{free_port()}", "escrow", timeout_s=0.5)
    client = connect_redis(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.2)
    registry = CollectorRegistry()
    registry.register(BusinessCollector(db, client, timeout_s=0.5))
    started = time.monotonic()
    text = generate_latest(registry).decode()
    assert time.monotonic() - started < 2.0
    assert "escrow_business_metrics_up 0.0" in text
    assert "escrow_payments{" not in text
