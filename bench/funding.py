"""STK push → funded latency on the whole local system, beside floors measured in the same run.

    make bench            (or: .venv/bin/python -m bench.funding --rounds 20)

Prints medians (this machine is noisy): how long `POST …/pay` takes to answer 202, how long
until the buyer's Socket.IO client hears the deal become `active`, how long from the callback's
arrival to the deal's `funded` event (server timestamps: the cost of verifying the callback by
STK Query shows here), and the floors: an HTTP round trip to /api/health, the sandbox's
configured callback delay (the customer's "thinking time", which no backend can beat).

``--before REF`` measures the same in a temporary git worktree of REF (by default the commit
before callbacks were verified), in the same run, and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

from tests.helpers import database, listen, open_deal, register
from tests.stack import start_stack

ROOT = Path(__file__).resolve().parent.parent
UNVERIFIED_REF = "61c4cc8"  # the last commit that credited a callback without asking M-Pesa


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def measure(rounds: int, delay_ms: int) -> dict[str, float]:
    stack = start_stack(callback_delay_ms=delay_ms)
    try:
        seller, buyer = register(stack, "seller"), register(stack, "buyer")
        ears = listen(stack, buyer.token or "")
        health, accept, funded, deal_ids = [], [], [], []
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
            deal_ids.append(deal["id"])
        ears.close()
        callback_to_funded = _callback_to_funded(stack, deal_ids[2:])
    finally:
        stack.close()
    trim = slice(2, None)
    return {
        "callback_to_funded_ms": _ms(statistics.median(callback_to_funded)),
        "pay_202_ms": _ms(statistics.median(accept[trim])),
        "pay_to_funded_ms": _ms(statistics.median(funded[trim])),
        "health_floor_ms": _ms(statistics.median(health[trim])),
        "callback_delay_floor_ms": float(delay_ms),
    }


def _callback_to_funded(stack: object, deal_ids: list[str]) -> list[float]:
    """Server-side: the callback's ``receivedAt`` to the deal's ``funded`` event."""
    db = database(stack)  # type: ignore[arg-type]
    spans = []
    for deal_id in deal_ids:
        payment = db.payments.find_one({"dealId": deal_id, "status": "success"})
        event = db.deal_events.find_one({"dealId": deal_id, "event": "funded"})
        callback = db.mpesa_callbacks.find_one(
            {"kind": "stk", "raw": {"$regex": payment["checkoutRequestId"]}})
        spans.append((event["timestamp"] - callback["receivedAt"]).total_seconds())
    return spans


def _before(ref: str, rounds: int, delay_ms: int) -> dict[str, float]:
    """The same measurement on the code of ``ref``, in a temporary worktree."""
    tree = Path(tempfile.mkdtemp(prefix="escrow-before-")) / "tree"
    subprocess.run(["git", "worktree", "add", "--detach", str(tree), ref], cwd=ROOT, check=True,
                   capture_output=True)
    try:
        shutil.copy(Path(__file__), tree / "bench" / "funding.py")
        out = subprocess.run(
            [sys.executable, "-m", "bench.funding", "--rounds", str(rounds),
             "--callback-delay-ms", str(delay_ms), "--json"],
            cwd=tree, check=True, capture_output=True, text=True,
            env={**os.environ, "PYTHONPATH": str(tree)})
        return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                       capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--callback-delay-ms", type=int, default=300)
    parser.add_argument("--before", default=UNVERIFIED_REF,
                        help="a git ref to measure beside this tree ('' to skip)")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    r = measure(args.rounds, args.callback_delay_ms)
    if args.json:
        print(json.dumps(r))
        return
    print(f"rounds: {args.rounds} (medians)")
    print(f"POST /pay → 202            {r['pay_202_ms']:>8} ms   "
          f"({r['pay_202_ms'] / r['health_floor_ms']:.1f}× the /api/health floor of "
          f"{r['health_floor_ms']} ms)")
    overhead = r["pay_to_funded_ms"] - r["callback_delay_floor_ms"]
    print(f"POST /pay → deal active    {r['pay_to_funded_ms']:>8} ms   "
          f"(floor: the sandbox's {r['callback_delay_floor_ms']:.0f} ms callback delay; "
          f"our overhead {overhead:.1f} ms, "
          f"{r['pay_to_funded_ms'] / r['callback_delay_floor_ms']:.2f}× the floor)")
    print(f"callback → deal funded     {r['callback_to_funded_ms']:>8} ms   "
          f"(verified by STK Query before any money moves)")
    if args.before:
        b = _before(args.before, args.rounds, args.callback_delay_ms)
        print(f"before ({args.before}, callbacks credited unverified), same run:")
        print(f"callback → deal funded     {b['callback_to_funded_ms']:>8} ms   "
              f"(verification costs {r['callback_to_funded_ms'] - b['callback_to_funded_ms']:.1f}"
              f" ms, {r['callback_to_funded_ms'] / b['callback_to_funded_ms']:.2f}×)")
        print(f"POST /pay → deal active    {b['pay_to_funded_ms']:>8} ms")


if __name__ == "__main__":
    main()
