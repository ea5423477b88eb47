"""Two of everything: two API processes and two workers per pool on one Redis and one
Mongo-wire server. People listen on one API and act through the other; nothing happens twice.

What "nothing twice" means here, and where it comes from:

- money: one STK push per payment on the wire (the sandbox's request log), one ledger posting
  per funding and per settlement, one B2C per withdrawal;
- work: every Celery task (by task id) succeeds once across the two workers of its pool, and
  every stored callback is one document, processed, with no repeats;
- events: the contract (API.md, "Real time") promises no exactly-once delivery: a Socket.IO
  event is a hint, delivered at most once (ARCHITECTURE.md), and clients re-read over REST.
  What the system does promise is that each state change is announced once (it is emitted by
  whoever won the compare-and-set) and that the Redis message queue hands each emit to each
  socket once, from the API process that holds it. So this test asserts that every event it
  waits for arrives, and that no socket receives the same change twice: a deal's
  ``transaction:updated`` per version, a payment's ``payment:updated`` per (status, updatedAt),
  a notification per id. ``wallet:updated`` carries only a balance, which two changes may
  share, so it is not counted.

Why it can fail: an event raised in the API process the listener is *not* connected to
(``transaction:created`` when a deal is opened, ``transaction:updated`` when it is paid for or
released, ``wallet:updated`` when a withdrawal is reserved) reaches the listener only through
the Redis message queue; an API that did not publish there, or did not subscribe, leaves it
unheard and the wait times out. A task delivered to both workers of a pool shows as two
successes of one task id, a push sent twice as two requests in the sandbox's log.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack import services
from tests.helpers import (
    Api,
    Listener,
    balance,
    database,
    open_deal,
    pay,
    register,
    run_task,
    trial_balance,
    wait_for_payment,
    wait_until,
)
from tests.stack import WORKER_POOLS, Stack, start_stack

STK_PUSH = "/mpesa/stkpush/v1/processrequest"
STK_QUERY = "/mpesa/stkpushquery/v1/query"
B2C = "/mpesa/b2c/v3/paymentrequest"
PAIRS = 8
FUNDED_EVENTS = ["created", "payment_requested", "funded"]
SUCCEEDED = re.compile(r"Task ([\w.]+)\[([0-9a-f-]{36})\] succeeded")


@dataclass
class Two:
    stack: Stack
    a: str  # the stack's own API
    b: str  # the second API process

    def other(self, base: str) -> str:
        return self.b if base == self.a else self.a


@pytest.fixture(scope="module")
def two() -> Iterator[Two]:
    # Two threads per payments and callbacks worker, and a Daraja that answers in 150 ms: one
    # worker can hold only two of the pushes that arrive together, so both workers push.
    stack = start_stack(PAYMENTS_CONCURRENCY="2", CALLBACKS_CONCURRENCY="2",
                        SANDBOX_LATENCY_MS="150")
    try:
        port = str(services.free_port())
        second = f"http://127.0.0.1:{port}"
        stack.start_api("api-b", port)
        # The second worker of each pool builds its callback URLs on the second API, so
        # M-Pesa's callbacks reach both API processes.
        with _env(stack, PUBLIC_BASE_URL=second):
            for pool in WORKER_POOLS:
                stack.start_worker(pool, name=f"worker-{pool}-b")
        services.wait_for_http(f"{second}/api/health", timeout=60)
        for pool in WORKER_POOLS:
            for name in (f"worker-{pool}", f"worker-{pool}-b"):
                wait_until(lambda n=name: " ready." in stack.log(n).read_text(errors="replace"),
                           timeout=60, every=0.2, what=f"{name} to be ready")
        yield Two(stack, stack.api, second)
    finally:
        stack.close()


@contextlib.contextmanager
def _env(stack: Stack, **values: str) -> Iterator[None]:
    """The processes started inside see ``values`` in their environment; later ones do not."""
    before = dict(stack.env)
    stack.env.update(values)
    try:
        yield
    finally:
        stack.env.clear()
        stack.env.update(before)


def _through(api: Api, base: str) -> Api:
    """The same signed-in person, talking to the API process at ``base``."""
    return Api(base, api.token, api.user, api.refresh)


def _listen(base: str, api: Api) -> Listener:
    ears = Listener()
    ears.client.connect(base, auth={"token": api.token}, transports=["websocket"],
                        wait_timeout=10)
    return ears


def _hear(ears: Listener, event: str, what: str, **fields: Any) -> Any:
    def match(data: Any) -> bool:
        return all(data.get(k) == v for k, v in fields.items())

    return wait_until(lambda: ears.seen(event, match), timeout=30, every=0.05,
                      what=f"{event} {fields} ({what})")


def _changes_heard_twice(ears: Listener) -> list[tuple[Any, ...]]:
    """Changes this socket was told of more than once (see the module's docstring)."""
    def every(name: str) -> list[Any]:
        return ears.seen(name, lambda _: True)

    seen: Counter[tuple[Any, ...]] = Counter()
    for name in ("transaction:created", "transaction:updated"):
        seen.update((name, d["id"], d["version"]) for d in every(name))
    seen.update(("payment:updated", d["id"], d["status"], d["updatedAt"])
                for d in every("payment:updated"))
    seen.update(("notification", d["id"]) for d in every("notification"))
    return [change for change, times in seen.items() if times > 1]


def _sandbox(stack: Stack, what: str, **params: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.sandbox}/sandbox/{what}", params=params, timeout=5)
    answer.raise_for_status()
    return answer.json()["items"]  # type: ignore[no-any-return]


def _successes(stack: Stack, pool: str, task: str) -> dict[str, Counter[str]]:
    """For each worker of ``pool``: how many times each ``task`` (by task id) succeeded there.
    A retry keeps its task id and logs a retry, not a success: two successes are two runs."""
    found: dict[str, Counter[str]] = {}
    for name in (f"worker-{pool}", f"worker-{pool}-b"):
        text = stack.log(name).read_text(errors="replace")
        found[name] = Counter(task_id for name_, task_id in SUCCEEDED.findall(text)
                              if name_ == task)
    return found


def _settled(stack: Stack, pool: str, task: str, expected: int) -> dict[str, Counter[str]]:
    """``_successes`` once ``expected`` runs of ``task`` have succeeded in ``pool``.

    A task's last visible effect (an emit, a saved state) comes before the worker logs its
    success, and a run that met a transient error is retried after a jittered countdown:
    its payment may look finished while the retry still waits. So the count is read once it
    reaches ``expected`` (a task run twice still shows, as two successes of one id); on
    timeout the log lines of every task received but not yet succeeded are shown."""
    def enough() -> dict[str, Counter[str]] | None:
        found = _successes(stack, pool, task)
        return found if sum(_once_across(found).values()) >= expected else None

    try:
        return wait_until(enough, timeout=30, every=0.2,
                          what=f"{expected} successes of {task} in the {pool} pool")
    except AssertionError as timed_out:
        logs = {name: stack.log(name).read_text(errors="replace").splitlines()
                for name in (f"worker-{pool}", f"worker-{pool}-b")}
        done = _once_across(_successes(stack, pool, task))
        received = {m for lines in logs.values() for line in lines
                    for m in re.findall(rf"Task {re.escape(task)}\[([0-9a-f-]{{36}})\] received",
                                        line)}
        waiting = {task_id: [f"{name}: {line}" for name, lines in logs.items()
                             for line in lines if task_id in line]
                   for task_id in sorted(received - set(done))}
        raise AssertionError(f"{timed_out}; received, not succeeded: {waiting}") from None


def _once_across(found: dict[str, Counter[str]]) -> Counter[str]:
    """Every task id succeeded once in all the pool's workers together."""
    total: Counter[str] = Counter()
    for counts in found.values():
        total.update(counts)
    twice = {task_id: n for task_id, n in total.items() if n > 1}
    assert not twice, f"tasks that succeeded more than once: {twice} ({found})"
    return total


def _ports(items: list[dict[str, Any]]) -> set[str]:
    return {re.sub(r"^http://127\.0\.0\.1:(\d+)/.*$", r"\1", item["url"]) for item in items}


@dataclass
class Pair:
    buyer: Api
    seller: Api
    ears: str  # the API both listen on
    hands: str  # the API they act through
    phone: str
    buyer_ears: Listener | None = None
    seller_ears: Listener | None = None
    deal: dict[str, Any] | None = None
    payment: dict[str, Any] | None = None


def test_buyers_listening_on_one_api_pay_through_the_other_and_each_payment_happens_once(
    two: Two,
) -> None:
    stack = two.stack
    pairs = []
    for i in range(PAIRS):
        ears = two.a if i % 2 == 0 else two.b
        buyer, seller = register(stack, "buyer"), register(stack, "seller")
        pairs.append(Pair(buyer, seller, ears, two.other(ears), f"2547115{i:05d}"))
    try:
        for i, p in enumerate(pairs):
            p.buyer_ears, p.seller_ears = _listen(p.ears, p.buyer), _listen(p.ears, p.seller)
            p.deal = open_deal(_through(p.buyer, p.hands), p.seller, amount=1000 + i)
            # Opened through the other API: the seller hears it through the message queue.
            _hear(p.seller_ears, "transaction:created", "opened on the other API",
                  id=p.deal["id"])

        def pay_through_hands(p: Pair) -> dict[str, Any]:
            assert p.deal is not None
            answer = pay(_through(p.buyer, p.hands), p.deal["id"], p.phone)
            assert answer.status_code == 202, answer.text
            return answer.json()["data"]  # type: ignore[no-any-return]

        with ThreadPoolExecutor(PAIRS) as pool:  # together, so both payments workers push
            for p, payment in zip(pairs, pool.map(pay_through_hands, pairs), strict=True):
                p.payment = payment

        for p in pairs:
            assert p.deal is not None and p.payment is not None
            wait_for_payment(_through(p.buyer, p.ears), p.payment["id"], "success", timeout=60)
            for ears in (p.buyer_ears, p.seller_ears):
                assert ears is not None
                _hear(ears, "transaction:updated", "paid for on the other API",
                      id=p.deal["id"], status="pending", version=2)
                _hear(ears, "payment:updated", "pushed by a worker",
                      id=p.payment["id"], status="pending")
                _hear(ears, "payment:updated", "confirmed by a worker",
                      id=p.payment["id"], status="success")
                _hear(ears, "transaction:updated", "funded by a worker",
                      id=p.deal["id"], status="active")
            for ears in (p.buyer_ears, p.seller_ears):
                assert ears is not None
                _hear(ears, "notification", "stored and emitted by a worker",
                      kind="deal_funded", transactionId=p.deal["id"])

        _assert_every_callback_processed_once(stack)
        for p in pairs:
            assert p.deal is not None and p.payment is not None
            _assert_paid_once(stack, p)
            for ears in (p.buyer_ears, p.seller_ears):
                assert ears is not None
                assert _changes_heard_twice(ears) == []
    finally:
        for p in pairs:
            for ears in (p.buyer_ears, p.seller_ears):
                if ears is not None:
                    ears.close()

    # One push task per payment and one task per stored callback, each run once, and both
    # workers of each pool took some (each holds two at a time; they came four at a time).
    pushes = _settled(stack, "payments", "payments.request_stk_push", PAIRS)
    assert sum(_once_across(pushes).values()) == PAIRS
    assert all(pushes.values()), f"one payments worker pushed nothing: {pushes}"
    processed = _settled(stack, "callbacks", "callbacks.process", PAIRS)
    assert sum(_once_across(processed).values()) == PAIRS
    assert all(processed.values()), f"one callbacks worker processed nothing: {processed}"
    # The pushes of the second payments worker named the second API: callbacks reached both.
    stk_callbacks = [c for c in _sandbox(stack, "callbacks") if c["kind"] == "stk"]
    assert _ports(stk_callbacks) == {two.a.rsplit(":", 1)[1], two.b.rsplit(":", 1)[1]}
    assert sum(trial_balance(stack).values()) == 0


def _assert_paid_once(stack: Stack, p: Pair) -> None:
    assert p.deal is not None and p.payment is not None
    deal_id, payment = p.deal["id"], wait_for_payment(p.buyer, p.payment["id"], "success")
    checkout = payment["checkoutRequestId"]
    # One prompt on the phone; the callback was verified by STK Query (a read: asking twice
    # would be harmless, so only its presence is asserted); one callback, processed.
    pushes = _sandbox(stack, "requests", path=STK_PUSH, phone=p.phone)
    assert [(r["status"], r["checkoutRequestId"]) for r in pushes] == [(200, checkout)]
    assert any(r["checkoutRequestId"] == checkout
               for r in _sandbox(stack, "requests", path=STK_QUERY))
    stored = list(database(stack).mpesa_callbacks.find({"raw": {"$regex": checkout}}))
    assert [(c["kind"], c["status"], c["repeats"], c["processed"]["outcome"]) for c in stored] \
        == [("stk", "processed", 0, "credited")]
    # One posting, one funded event, one payment, one notification each.
    deal = p.buyer.data("GET", f"/api/transactions/{deal_id}")
    assert deal["status"] == "active" and deal["version"] == 3
    assert [e["event"] for e in deal["timeline"]] == FUNDED_EVENTS
    assert [x["id"] for x in p.buyer.data("GET", f"/api/transactions/{deal_id}/payments")] \
        == [payment["id"]]
    ledger = p.seller.data("GET", f"/api/transactions/{deal_id}/ledger")
    assert len(ledger["postings"]) == 1 and ledger["sum"] == 0
    assert ledger["balances"] == {f"escrow:{deal_id}": deal["amount"],
                                  "mpesa:clearing": -deal["amount"]}
    for person in (p.buyer, p.seller):
        kinds = [n["kind"] for n in person.data("GET", "/api/notifications?limit=100")["items"]
                 if n["transactionId"] == deal_id]
        assert kinds.count("deal_funded") == 1, kinds


def test_a_release_and_a_withdrawal_through_the_other_api_each_move_the_money_once(
    two: Two,
) -> None:
    stack = two.stack
    buyer, seller = register(stack, "buyer"), register(stack, "seller")
    phone, payout_phone = "254711600001", "254711600002"
    ears = _listen(two.a, seller)
    buyer_b, seller_b = _through(buyer, two.b), _through(seller, two.b)
    try:
        deal = open_deal(buyer_b, seller, amount=4000)
        payment = pay(buyer_b, deal["id"], phone).json()["data"]
        wait_for_payment(buyer, payment["id"], "success", timeout=60)
        _hear(ears, "transaction:updated", "funded", id=deal["id"], status="active")

        released = buyer_b.data("POST", f"/api/transactions/{deal['id']}/release")
        assert released["status"] == "completed"
        _hear(ears, "transaction:updated", "released on the other API",
              id=deal["id"], status="completed")
        _hear(ears, "wallet:updated", "credited on the other API", balance=3900)  # less 2.5 %

        # Two settlement sweeps at once, one per recon worker if they share them out: the
        # posting's key makes the second write a no-op.
        for _ in range(2):
            run_task(stack, "ledger.repair_settlements")
        wait_until(lambda: sum(_once_across(_successes(
            stack, "recon", "ledger.repair_settlements")).values()) == 2, timeout=30,
            what="both settlement sweeps to have run")

        key = uuid.uuid4().hex
        body = {"amount": 1500, "phone": payout_phone}
        first = seller_b.post("/api/wallet/withdrawals", body, headers={"Idempotency-Key": key})
        again = seller.post("/api/wallet/withdrawals", body, headers={"Idempotency-Key": key})
        assert first.status_code == again.status_code == 202, (first.text, again.text)
        payout = first.json()["data"]
        assert again.json()["data"]["id"] == payout["id"]  # the same key on the other API
        _hear(ears, "wallet:updated", "reserved on the other API", balance=2400)

        def paid() -> Any:
            found = seller.data("GET", f"/api/wallet/withdrawals/{payout['id']}")
            return found if found["status"] == "success" else None

        done = wait_until(paid, timeout=60, every=0.1, what="the withdrawal to be paid")
        _hear(ears, "notification", "paid by a worker", kind="payout_succeeded",
              withdrawalId=payout["id"])
        assert _changes_heard_twice(ears) == []
    finally:
        ears.close()

    assert len(done["reference"]) == 10 and balance(seller) == 2400
    sent = _sandbox(stack, "requests", path=B2C, phone=payout_phone)
    assert [r["status"] for r in sent] == [200]  # one B2C, whichever API took the request
    postings = seller.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"]
    assert sorted(p["kind"] for p in postings) == sorted(["escrow_hold", "released"]), postings
    entries = seller.data("GET", "/api/wallet")["entries"]
    assert [e["amount"] for e in entries] == [-1500, 3900]
    _assert_every_callback_processed_once(stack)
    assert sum(trial_balance(stack).values()) == 0


def _assert_every_callback_processed_once(stack: Stack) -> None:
    """Every callback M-Pesa sent is one stored document, processed (none flagged, none
    waiting), delivered once; and each was processed by one task run (``callbacks.process``)."""
    db = database(stack)
    wait_until(lambda: db.mpesa_callbacks.count_documents({"status": "received"}) == 0,
               timeout=30, what="every stored callback to be processed")
    stored = list(db.mpesa_callbacks.find({}, {"kind": 1, "status": 1, "repeats": 1}))
    assert [c for c in stored if c["status"] != "processed" or c["repeats"]] == []
    sent = [c for c in _sandbox(stack, "callbacks") if c["status"] == 200]
    assert len(stored) == len(sent)
    runs = _once_across(_settled(stack, "callbacks", "callbacks.process", len(stored)))
    assert sum(runs.values()) == len(stored)


def test_an_inspection_period_swept_by_two_sweeps_at_once_releases_the_deal_once(
    two: Two,
) -> None:
    stack = two.stack
    buyer, seller = register(stack, "buyer"), register(stack, "seller")
    ears = _listen(two.b, buyer)
    try:
        deal = open_deal(_through(buyer, two.a), seller, amount=2000, inspectionDays=1)
        payment = pay(_through(buyer, two.a), deal["id"], "254711600003").json()["data"]
        wait_for_payment(buyer, payment["id"], "success", timeout=60)
        _through(seller, two.a).data("POST", f"/api/transactions/{deal['id']}/deliver")
        later = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        # Two sweeps at once, as if two beats ran: on both recon workers, or on two threads
        # of one; either way they race for the same deal.
        for _ in range(2):
            run_task(stack, "deals.auto_release", now=later)
        _hear(ears, "transaction:updated", "auto-released", id=deal["id"], status="completed")
        wait_until(lambda: sum(_once_across(_successes(
            stack, "recon", "deals.auto_release")).values()) == 2, timeout=30,
            what="both sweeps to have run")
        assert _changes_heard_twice(ears) == []
    finally:
        ears.close()
    released = buyer.data("GET", f"/api/transactions/{deal['id']}")
    assert [e["event"] for e in released["timeline"]].count("auto_released") == 1
    assert balance(seller) == 1950
    postings = buyer.data("GET", f"/api/transactions/{deal['id']}/ledger")["postings"]
    assert sorted(p["kind"] for p in postings) == ["auto_released", "escrow_hold"], postings
    _assert_every_callback_processed_once(stack)
