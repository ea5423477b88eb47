"""An API or CLI started while MongoDB is unreachable says so and stops, in bounded time,
instead of waiting out the ten minutes an index build may take."""

from __future__ import annotations

import time

import pytest

from adapters.mongo.client import connect, ensure_indexes

NOBODY = "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"  # a port nothing listens on


def test_index_creation_with_mongo_unreachable_stops_at_once_naming_mongodb() -> None:
    db = connect(NOBODY, "escrow_nobody", timeout_s=0.5)
    started = time.monotonic()
    with pytest.raises(SystemExit) as stopped:
        ensure_indexes(db, reach_within_s=1.0)
    assert time.monotonic() - started < 5
    assert "MongoDB" in str(stopped.value) and "127.0.0.1:1" in str(stopped.value)
