"""M-Pesa at its worst, all at once: 30 % of Daraja's calls fail with a 503 and every answer
takes 2 s, while some phones' callbacks never come and others come three times (and some
customers cancel or lack the funds). And two beats at once: every janitor round sent twice,
while the load runs and while it settles. Afterwards every invariant holds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.faults.invariants import JANITOR
from tests.faults.load import Load, fresh_phone
from tests.faults.scenario import under_load
from tests.helpers import run_task
from tests.stack import Stack, start_stack

# A few deals on the sandbox's misbehaving phones (sandbox/README.md), one each: a phone has
# one prompt open at a time, so a second deal on it would wait for the first.
MIXED_IN = {5: "254700000005",  # succeeds, its callback is never sent
            6: "254700000006",  # succeeds, its callback is sent three times
            7: "254700000001",  # the customer cancels (1032)
            8: "254700000002"}  # insufficient funds (1)


def _phone(index: int) -> str:
    return MIXED_IN.get(index % 40, fresh_phone()) if index < 40 else fresh_phone()


@pytest.fixture(scope="module")
def chaotic_stack() -> Iterator[Stack]:
    running = start_stack(SANDBOX_FAULT_RATE="0.3", SANDBOX_LATENCY_MS="2000",
                          SANDBOX_SEED="20261202", STK_QUERY_DELAYS_S="1,1,1")
    try:
        yield running
    finally:
        running.close()


def _faults(stack: Stack) -> Callable[[Load], dict[str, Any]]:
    def fault(_: Load) -> dict[str, Any]:  # the sandbox's own faults run all along
        return {"what": "Daraja: 30 % of calls 503, 2 s per answer; a lost and a tripled "
                        "callback, a cancel and a lack of funds mixed in"}

    return fault


def _two_beats(stack: Stack) -> Callable[[Load], dict[str, Any]]:
    """Every janitor task sent twice at the same moment, round after round, while the load
    runs (as two beats would, each on its own schedule's tick)."""
    def fault(load: Load) -> dict[str, Any]:
        rounds = 0
        done = threading.Event()

        def beat() -> None:
            for task in JANITOR:
                run_task(stack, task)

        while (load.paid() < load.deals or rounds < 3) and not done.wait(1.0):
            beats = [threading.Thread(target=beat) for _ in range(2)]
            for thread in beats:
                thread.start()
            for thread in beats:
                thread.join(30)
            rounds += 1
        return {"what": "two beats at once", "double rounds while loaded": rounds}

    return fault


def test_a_faulty_slow_mpesa_with_lost_and_tripled_callbacks_ends_every_deal_right(
    chaotic_stack: Stack, report: Callable[..., None],
) -> None:
    figures = under_load(chaotic_stack, _faults(chaotic_stack), phone=_phone,
                         settle_timeout=150)
    payments = figures["outcomes"]["payments"]
    assert payments.get("failed UNRESOLVED") and payments.get("success"), payments  # faults
    report(**figures)


def test_two_beats_at_once_under_load_do_nothing_twice(
    chaotic_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(chaotic_stack, _two_beats(chaotic_stack), beats=2,
                        settle_timeout=150))
