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
    """30 % of synchronous Daraja calls fail with a 503 before creating anything."""
    running = start_stack(SANDBOX_FAULT_RATE="0.3", SANDBOX_SEED="20261124")
    try:
        yield running
    finally:
        running.close()
