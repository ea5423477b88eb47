"""A slow M-Pesa, a faulty M-Pesa, and a worker killed mid-push: every payment ends right, once."""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.helpers import (
    Api,
    database,
    open_deal,
    pay,
    register,
    run_task,
    wait_for_payment,
    wait_until,
)
from tests.stack import Stack


def _phone() -> str:
    return f"25471{random.randrange(10**7):07d}"  # a fresh subscriber: nobody else's prompt


def _pushes(stack: Stack, phone: str) -> list[dict[str, Any]]:
    items = requests.get(f"{stack.sandbox}/sandbox/requests", timeout=10,
                         params={"path": "/mpesa/stkpush/v1/processrequest",
                                 "phone": phone}).json()["items"]
    return [item for item in items if item["status"] == 200]


def test_a_slow_mpesa_does_not_slow_the_api(slow_stack: Stack) -> None:
    seller, buyer = register(slow_stack, "seller"), register(slow_stack, "buyer")
    deal = open_deal(buyer, seller, amount=400)
    started = time.perf_counter()
    response = pay(buyer, deal["id"], _phone())
    elapsed = time.perf_counter() - started
    assert response.status_code == 202
    # Daraja takes 3 s to answer; the API never waits for it (it only records and enqueues).
    assert elapsed < 1.5, f"pay took {elapsed:.2f}s with a 3 s Daraja"
    wait_for_payment(buyer, response.json()["data"]["id"], "success", timeout=30)


def _push_on_the_wire(stack: Stack, phone: str) -> bool:
    """The sandbox has received the push to ``phone`` and not answered it yet."""
    return bool(requests.get(f"{stack.sandbox}/sandbox/in-flight", timeout=10,
                             params={"path": "/mpesa/stkpush/v1/processrequest",
                                     "phone": phone}).json()["items"])


def test_a_worker_killed_mid_push_still_ends_the_payment_once(slow_stack: Stack) -> None:
    seller, buyer = register(slow_stack, "seller"), register(slow_stack, "buyer")
    warm_up = open_deal(buyer, seller, amount=300)  # so the OAuth token is cached: the next
    wait_for_payment(buyer, pay(buyer, warm_up["id"], _phone()).json()["data"]["id"],  # call
                     "success", timeout=30)  # the worker makes is the push itself
    deal, phone = open_deal(buyer, seller, amount=450), _phone()
    payment = pay(buyer, deal["id"], phone).json()["data"]
    db = database(slow_stack)
    wait_until(lambda: db.payments.find_one({"_id": payment["id"],
                                             "pushStartedAt": {"$exists": True}}),
               what="the worker to claim the push")
    wait_until(lambda: _push_on_the_wire(slow_stack, phone), every=0.02,
               what="the push to be on the wire")  # Daraja takes 3 s to answer it
    slow_stack.kill("worker-payments")
    slow_stack.start_worker()
    later = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()  # past push_lost_after_s

    def settled() -> Any:
        run_task(slow_stack, "payments.reconcile", now=later)  # beat, later
        found = buyer.data("GET", f"/api/payments/{payment['id']}")
        return found if found["status"] == "success" else None

    paid = wait_until(settled, timeout=45, every=1.0, what="the killed push to settle")
    assert paid["reference"]  # matched to its callback by phone and amount
    assert len(_pushes(slow_stack, phone)) == 1  # never pushed twice
    assert buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "active"
    assert len(buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"]) == 1


def _push_answers(stack: Stack, phone: str) -> list[int]:
    """The HTTP status of every STK push the sandbox received for ``phone``."""
    items = requests.get(f"{stack.sandbox}/sandbox/requests", timeout=10,
                         params={"path": "/mpesa/stkpush/v1/processrequest",
                                 "phone": phone}).json()["items"]
    return [item["status"] for item in items]


def test_fifty_payments_through_a_faulty_mpesa_are_pushed_once_and_a_503_is_never_resent(
    faulty_stack: Stack,
) -> None:
    """A 503 on a push may hide a prompt M-Pesa sent: the payment is never pushed again. The
    pushes M-Pesa accepted end ``success`` (callback, confirmed by STK Query, itself faulted at
    times); those that met only a 503 end ``failed`` ``UNRESOLVED`` once the schedule runs out."""
    seller = register(faulty_stack, "seller")
    buyers = [register(faulty_stack, "buyer") for _ in range(5)]
    started: list[tuple[Api, str, str]] = []
    for i in range(50):
        buyer = buyers[i % 5]
        deal = open_deal(buyer, seller, amount=100 + i)
        phone = _phone()
        response = pay(buyer, deal["id"], phone)
        assert response.status_code == 202
        started.append((buyer, response.json()["data"]["id"], phone))

    def all_settled() -> list[dict[str, Any]] | None:
        # A push STK Query confirmed may be ``success`` before its callback brings the receipt:
        # settled means ended, and every success carrying its M-Pesa receipt.
        found = [b.data("GET", f"/api/payments/{pid}") for b, pid, _ in started]
        ended = all(p["status"] == "failed" or (p["status"] == "success" and p["reference"])
                    for p in found)
        return found if ended else None

    def settled_with_janitor() -> list[dict[str, Any]] | None:
        run_task(faulty_stack, "payments.reconcile")  # beat's janitor, as often as we like
        return all_settled()

    payments = wait_until(settled_with_janitor, timeout=240, every=2.0, what="50 payments")
    answers = [_push_answers(faulty_stack, phone) for _, _, phone in started]
    assert all(len(pushes) == 1 for pushes in answers), answers  # never pushed twice
    for payment, (pushed,) in zip(payments, answers, strict=True):
        if pushed == 200:
            assert payment["status"] == "success", payment
            assert payment["reference"]
        else:
            assert pushed == 503
            assert (payment["status"], payment["resultCode"]) == ("failed", "UNRESOLVED"), payment
    outcomes = Counter(pushed for (pushed,) in answers)
    assert outcomes[503] > 0 and outcomes[200] > 0, outcomes  # the faults really happened
