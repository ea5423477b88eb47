"""Systems whose M-Pesa misbehaves: a slow one and a faulty one, each started for its module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

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


# What each fault scenario did and what came of it (deals, faults injected, outcomes): printed
# at the end of the run and kept in pytest's cache (`.pytest_cache/v/faults/figures`), the
# source of the figures in docs/reliability.md.
FIGURES: dict[str, dict[str, object]] = {}


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., None]:
    def record(**figures: object) -> None:
        FIGURES[request.node.name] = figures

    return record


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not FIGURES:
        return
    terminalreporter.section("fault scenarios: deals, faults injected, outcomes")
    for name, figures in FIGURES.items():
        terminalreporter.write_line(f"{name}: {json.dumps(figures)}")
    if getattr(config, "cache", None) is not None:
        config.cache.set("faults/figures", FIGURES)
