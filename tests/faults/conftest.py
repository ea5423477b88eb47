"""Systems whose M-Pesa misbehaves: a slow one and a faulty one, each started for its module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, start_stack


@pytest.fixture(scope="module")
def slow_stack() -> Iterator[Stack]:
    """Every synchronous Daraja answer takes 3 s."""
    running = start_stack(SANDBOX_LATENCY_MS="3000")
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="module")
def faulty_stack() -> Iterator[Stack]:
    """30 % of synchronous Daraja calls fail with a 503 before creating anything (we cannot
    know that: a 503 on a push is an unknown outcome). A short query schedule, so that what
    the janitor cannot settle is closed within the test."""
    running = start_stack(SANDBOX_FAULT_RATE="0.3", SANDBOX_SEED="20261124",
                          STK_QUERY_DELAYS_S="1,1,1")
    try:
        yield running
    finally:
        running.close()
