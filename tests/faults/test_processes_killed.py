"""Our own processes die under load: a worker SIGKILLed while its STK push is on the wire, one
SIGKILLed while it processes a callback, the API killed and started again while its clients
resend with the same Idempotency-Key. Daraja answers in 0.6 s here, so that there is always
something on the wire to die in the middle of. Afterwards every invariant holds."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.faults.chaos import ready, restart
from tests.faults.invariants import PUSH
from tests.faults.load import Load
from tests.faults.scenario import under_load
from tests.helpers import database, wait_until
from tests.stack import Stack, start_stack

QUERY = "/mpesa/stkpushquery/v1/query"


@pytest.fixture(scope="module")
def slowish_stack() -> Iterator[Stack]:
    running = start_stack(SANDBOX_LATENCY_MS="600")
    try:
        yield running
    finally:
        running.close()


def _on_the_wire(stack: Stack, path: str) -> int:
    items = requests.get(f"{stack.sandbox}/sandbox/in-flight", params={"path": path},
                         timeout=10).json()["items"]
    return len(items)


def _kill_mid(stack: Stack, worker: str, path: str) -> Callable[[Load], dict[str, Any]]:
    """SIGKILL ``worker`` while it has a request to ``path`` on the wire, then start another."""
    def fault(_: Load) -> dict[str, Any]:
        caught = wait_until(lambda: _on_the_wire(stack, path), timeout=30, every=0.01,
                            what=f"{worker} to have {path} on the wire")
        restart(stack, worker, kill=True)
        return {"what": f"{worker} SIGKILL", "its requests on the wire": caught}

    return fault


def test_a_worker_killed_mid_push_under_load_pushes_nothing_twice(
    slowish_stack: Stack, report: Callable[..., None],
) -> None:
    report(**under_load(slowish_stack, _kill_mid(slowish_stack, "worker-payments", PUSH)))


def test_a_worker_killed_mid_callback_under_load_loses_no_callback(
    slowish_stack: Stack, report: Callable[..., None],
) -> None:
    # A callback's processing asks STK Query first (verification): killed while it waits.
    report(**under_load(slowish_stack, _kill_mid(slowish_stack, "worker-callbacks", QUERY)))


def test_the_api_restarted_under_load_makes_one_payment_per_idempotency_key(
    slowish_stack: Stack, report: Callable[..., None],
) -> None:
    def fault(load: Load) -> dict[str, Any]:
        started = time.monotonic()
        restart(slowish_stack, "api", kill=True)  # requests in flight die with it
        ready(slowish_stack)
        return {"what": "api SIGKILL and start", "back after s":
                round(time.monotonic() - started, 1)}

    loads: list[Load] = []
    figures = under_load(slowish_stack, lambda load: (loads.append(load), fault(load))[1],
                         open_first=True)  # every client is paying when the API dies
    db = database(slowish_stack)
    for order in loads[0].orders:  # every resend of one key found the first payment
        assert db.payments.count_documents({"dealId": order.deal_id}) == 1, order
    assert figures["load"]["resends"] > 0, figures  # clients did resend across the restart
    report(**figures)
