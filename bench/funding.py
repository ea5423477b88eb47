"""STK push → funded latency on the whole local system, beside floors measured in the same run.

    make bench            (or: .venv/bin/python -m bench.funding --rounds 20)

Prints medians (this machine is noisy): how long `POST …/pay` takes to answer 202, how long
until the buyer's Socket.IO client hears the deal become `active`, and two floors: an HTTP
round trip to /api/health, and the sandbox's configured callback delay (the customer's
"thinking time", which no backend can beat).
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

import requests

from tests.helpers import listen, open_deal, register
from tests.stack import start_stack


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def measure(rounds: int, delay_ms: int) -> dict[str, float]:
    stack = start_stack(callback_delay_ms=delay_ms)
    try:
        seller, buyer = register(stack, "seller"), register(stack, "buyer")
        ears = listen(stack, buyer.token or "")
        health, accept, funded = [], [], []
        for _ in range(rounds + 2):  # the first two warm the worker and the token cache
            started = time.perf_counter()
            requests.get(f"{stack.api}/api/health", timeout=5)
            health.append(time.perf_counter() - started)
            deal = open_deal(buyer, seller, amount=100)
            active = threading.Event()
            ears.client.on("transaction:updated",
                           lambda d, i=deal["id"], e=active: e.set()
                           if d["id"] == i and d["status"] == "active" else None)
            started = time.perf_counter()
            response = buyer.post(f"/api/transactions/{deal['id']}/pay",
                                  {"phone": "254708374149"},
                                  headers={"Idempotency-Key": uuid.uuid4().hex})
            accept.append(time.perf_counter() - started)
            assert response.status_code == 202, response.text
            if not active.wait(30):
                raise RuntimeError("a deal was not funded within 30 s")
            funded.append(time.perf_counter() - started)
        ears.close()
    finally:
        stack.close()
    trim = slice(2, None)
    return {
        "pay_202_ms": _ms(statistics.median(accept[trim])),
        "pay_to_funded_ms": _ms(statistics.median(funded[trim])),
        "health_floor_ms": _ms(statistics.median(health[trim])),
        "callback_delay_floor_ms": float(delay_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--callback-delay-ms", type=int, default=300)
    args = parser.parse_args()
    r = measure(args.rounds, args.callback_delay_ms)
    print(f"rounds: {args.rounds} (medians)")
    print(f"POST /pay → 202            {r['pay_202_ms']:>8} ms   "
          f"({r['pay_202_ms'] / r['health_floor_ms']:.1f}× the /api/health floor of "
          f"{r['health_floor_ms']} ms)")
    overhead = r["pay_to_funded_ms"] - r["callback_delay_floor_ms"]
    print(f"POST /pay → deal active    {r['pay_to_funded_ms']:>8} ms   "
          f"(floor: the sandbox's {r['callback_delay_floor_ms']:.0f} ms callback delay; "
          f"our overhead {overhead:.1f} ms, "
          f"{r['pay_to_funded_ms'] / r['callback_delay_floor_ms']:.2f}× the floor)")


if __name__ == "__main__":
    main()
