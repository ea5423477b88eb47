"""Deals opened and paid by several clients at once, while a fault happens.

Each client behaves as a careful app would: a deal is opened (resent after a 503 or a broken
connection), then paid with one ``Idempotency-Key`` that it resends, unchanged, until the API
answers 202. Any other answer (a 500 above all) fails the scenario. What every client saw is
counted, so a scenario can report it.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import requests

from tests.helpers import Api
from tests.stack import Stack

RETRY_AFTER_S = 0.2  # the load's own pause between resends (the API says 5 s; we are impatient)
GIVE_UP_AFTER_S = 90.0


def fresh_phone() -> str:
    """A subscriber nobody else is paying from: the sandbox succeeds and calls back once."""
    return f"25471{random.randrange(10**7):07d}"


@dataclass
class Order:
    """One deal the load opened, and the payment it asked for."""

    buyer: Api
    phone: str
    amount: int
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    deal_id: str | None = None
    payment_id: str | None = None
    sends: int = 0  # how many times ``pay`` was sent with this order's key


@dataclass
class Load:
    stack: Stack
    buyers: list[Api]
    seller: Api
    deals: int
    clients: int = 6
    phone: Callable[[int], str] = lambda _: fresh_phone()
    open_first: bool = False  # open every deal before paying any: a fault then meets only pays
    orders: list[Order] = field(default_factory=list)
    seen: Counter[str] = field(default_factory=Counter)  # "pay 202", "open 503", "pay error"…
    slowest_s: float = 0.0
    errors: list[str] = field(default_factory=list)
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> Load:
        """Start the clients; with ``open_first``, once they have opened every deal."""
        if self.open_first:
            self._run(self._open)
            for thread in self._threads:
                thread.join(GIVE_UP_AFTER_S + 30)
            assert not self.errors, self.errors[:5]
            self._next, self._threads = 0, []
        self._run(self._open_and_pay)
        return self

    def _run(self, step: Callable[[Order], None]) -> None:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, args=(step,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def paid(self) -> int:
        with self._lock:
            return sum(1 for order in self.orders if order.payment_id)

    def wait(self, timeout: float = GIVE_UP_AFTER_S + 30) -> list[Order]:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in self._threads), "the load's clients did not finish"
        assert not self.errors, self.errors[:5]
        unpaid = [o for o in self.orders if not o.payment_id]
        assert not unpaid, f"{len(unpaid)} deals never got a 202 for their payment"
        return self.orders

    def figures(self) -> dict[str, object]:
        return {"deals": len(self.orders), "answers": dict(sorted(self.seen.items())),
                "resends": sum(max(0, o.sends - 1) for o in self.orders),
                "slowest answer s": round(self.slowest_s, 2)}

    def _take(self) -> Order | None:
        """The next order to work on (made on first use), or None when all are taken."""
        with self._lock:
            if self._next >= self.deals:
                return None
            index, self._next = self._next, self._next + 1
            if index == len(self.orders):
                self.orders.append(Order(self.buyers[index % len(self.buyers)],
                                         self.phone(index), amount=100 + index))
            return self.orders[index]

    def _client(self, step: Callable[[Order], None]) -> None:
        while (order := self._take()) is not None:
            try:
                step(order)
            except Exception as exc:  # reported by wait(): the load itself must not die quietly
                with self._lock:
                    self.errors.append(f"{type(exc).__name__}: {exc}")

    def _open_and_pay(self, order: Order) -> None:
        if order.deal_id is None:
            self._open(order)
        self._pay(order)

    def _send(self, what: str, call: Callable[[], requests.Response]) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = call()
        except requests.RequestException as exc:
            self._count(f"{what} {type(exc).__name__}", time.perf_counter() - started)
            return None
        self._count(f"{what} {response.status_code}", time.perf_counter() - started)
        return response

    def _count(self, answer: str, elapsed: float) -> None:
        with self._lock:
            self.seen[answer] += 1
            self.slowest_s = max(self.slowest_s, elapsed)

    def _open(self, order: Order) -> None:
        body = {"title": "Fault-test phone", "description": "Opened under a fault",
                "amount": order.amount, "sellerEmail": self.seller.user["email"]}
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        while time.monotonic() < deadline:
            answer = self._send("open", lambda: order.buyer.post("/api/transactions", body))
            if answer is not None and answer.status_code == 201:
                order.deal_id = answer.json()["data"]["id"]
                return
            if answer is not None and answer.status_code != 503:
                raise AssertionError(f"opening a deal: {answer.status_code} {answer.text}")
            time.sleep(RETRY_AFTER_S)
        raise AssertionError("a deal could not be opened in time")

    def _pay(self, order: Order) -> None:
        deadline = time.monotonic() + GIVE_UP_AFTER_S
        while time.monotonic() < deadline:
            order.sends += 1
            answer = self._send("pay", lambda: order.buyer.post(
                f"/api/transactions/{order.deal_id}/pay", {"phone": order.phone},
                headers={"Idempotency-Key": order.key}))
            if answer is not None and answer.status_code == 202:
                payment_id = answer.json()["data"]["id"]
                assert order.payment_id in (None, payment_id), "one key, two payments"
                order.payment_id = payment_id
                return
            if answer is not None and answer.status_code != 503:
                raise AssertionError(f"paying a deal: {answer.status_code} {answer.text}")
            time.sleep(RETRY_AFTER_S)
        raise AssertionError("a payment was never accepted in time")
