"""Redis and the Mongo-wire server restarted, and frozen (SIGSTOP), while deals are being paid.

While one is frozen the API answers 503 in the envelope within 2 s, /api/ready names it within
2 s, and M-Pesa's callback is acknowledged as soon as it is stored (Redis frozen) or refused
with a 503 (Mongo frozen: nothing is acknowledged that was not stored). Afterwards every
invariant holds (tests/faults/invariants.py).

The servers frozen and restarted are the stack's own embedded ones, even when `make test` is given
real ones (MONGO_URL, REDIS_URL): fault injection on processes the test owns."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.faults.chaos import (
    Probe,
    acknowledged,
    api_probes,
    callback_probe,
    frozen,
    ready,
    restart,
    run_probes,
    unavailable,
)
from tests.faults.load import Load
from tests.faults.scenario import under_load
from tests.helpers import open_deal, register
from tests.stack import Stack, start_stack

ANSWER_WITHIN_S = 2.0


@pytest.fixture(scope="module")
def busy_stack() -> Iterator[Stack]:
    running = start_stack(own_servers=True)
    try:
        yield running
    finally:
        running.close()


def _timed(probes: list[Probe]) -> dict[str, Any]:
    return {p.name: {"answers": len(p.answers), "slowest s": round(p.slowest_s, 2),
                     "statuses": sorted(map(str, p.statuses()))} for p in probes}


def _freeze(stack: Stack, name: str, callback_check: Callable[..., str | None]) -> Callable[
        [Load], dict[str, Any]]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller, amount=777)
    probes = [*api_probes(stack, buyer, deal["id"], name), callback_probe(stack, callback_check)]

    def fault(_: Load) -> dict[str, Any]:
        started = time.monotonic()
        with frozen(stack, name):
            run_probes(probes, least=3)
        held = time.monotonic() - started
        ready(stack)
        for probe in probes:
            assert not probe.wrong, (probe.name, probe.wrong[:3])
            assert probe.slowest_s <= ANSWER_WITHIN_S, (probe.name, probe.answers)
        return {"what": f"{name} SIGSTOP", "held s": round(held, 1), "probes": _timed(probes)}

    return fault


def _restart(stack: Stack, name: str) -> Callable[[Load], dict[str, Any]]:
    def fault(_: Load) -> dict[str, Any]:
        started = time.monotonic()
        restart(stack, name)
        ready(stack)
        return {"what": f"{name} restarted", "back after s": round(time.monotonic() - started, 1)}

    return fault


def test_redis_frozen_under_load_answers_503_fast_and_still_acknowledges_callbacks(
    busy_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(busy_stack, _freeze(busy_stack, "redis", acknowledged)))


def test_mongo_frozen_under_load_answers_503_fast_and_acknowledges_no_callback(
    busy_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(busy_stack, _freeze(busy_stack, "mongo", unavailable)))


def test_redis_restarted_under_load_loses_no_deal(
    busy_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(busy_stack, _restart(busy_stack, "redis")))


def test_mongo_restarted_under_load_loses_no_deal(
    busy_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(busy_stack, _restart(busy_stack, "mongo")))
