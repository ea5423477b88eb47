"""End to end: deals funded per second, from ``POST …/pay`` to the buyer's Socket.IO client
hearing ``transaction:updated`` with the deal ``active`` (funded: domain/deals.py), and how long
each deal took from its callback's arrival (``receivedAt`` in ``mpesa_callbacks``, stored before
the API answers M-Pesa) to that event reaching the client."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import requests
import socketio

from bench import wrk
from bench.figures import figure, percentile
from bench.people import Deal, People, Phones, deals_file, open_deals
from bench.system import cpu_per, cpu_seconds
from tests.helpers import database
from tests.stack import Stack

CONNECTIONS = 32
STALL_S = 10  # no deal heard funded for this long: the round ends with what it has


class Ears:
    """One Socket.IO client per buyer; the moment each deal is first heard ``active``."""

    def __init__(self, stack: Stack, people: People) -> None:
        self.funded: dict[str, float] = {}
        self._changed = threading.Condition()
        self._clients = []
        for buyer in people.buyers:
            client = socketio.Client(reconnection=False)
            client.on("transaction:updated", self._heard)
            client.connect(stack.api, auth={"token": buyer.token}, transports=["websocket"],
                           wait_timeout=10)
            self._clients.append(client)

    def _heard(self, deal: dict[str, Any]) -> None:
        now = time.time()
        if deal.get("status") == "active":
            with self._changed:
                self.funded.setdefault(deal["id"], now)
                self._changed.notify_all()

    def wait_for(self, ids: list[str], stall_s: float = STALL_S) -> dict[str, float]:
        """When each of ``ids`` was heard funded; returns early if none is heard for
        ``stall_s`` (the missing ones are then absent)."""
        with self._changed:
            while True:
                heard = sum(1 for i in ids if i in self.funded)
                if heard == len(ids) or not self._changed.wait_for(
                        lambda h=heard: sum(1 for i in ids if i in self.funded) > h, stall_s):
                    return {i: self.funded[i] for i in ids if i in self.funded}

    def close(self) -> None:
        for client in self._clients:
            client.disconnect()


def arrivals(stack: Stack, deal_ids: list[str]) -> dict[str, dict[str, float]]:
    """Per deal, from the database: when its successful payment was created (the API took the
    pay) and when the STK callback for it was stored, as Unix times."""
    db = database(stack)
    wanted = set(deal_ids)
    payments = {p["checkoutRequestId"]: p for p in db.payments.find(
        {"status": "success"}, {"dealId": 1, "checkoutRequestId": 1, "createdAt": 1})
        if p["dealId"] in wanted}
    times: dict[str, dict[str, float]] = {}
    for callback in db.mpesa_callbacks.find({"kind": "stk"}, {"raw": 1, "receivedAt": 1}):
        checkout = json.loads(callback["raw"])["Body"]["stkCallback"]["CheckoutRequestID"]
        payment = payments.get(checkout)
        if payment is not None:
            times[payment["dealId"]] = {"paid": payment["createdAt"].timestamp(),
                                        "callback": callback["receivedAt"].timestamp()}
    db.client.close()
    return times


def load_round(stack: Stack, load: str, people: People, phones: Phones, ears: Ears,
               count: int, name: str) -> dict[str, Any]:
    """``count`` deals opened (untimed), then paid by wrk at 32 connections; until funded."""
    deals = open_deals(stack, people, count, phones)
    path = deals_file(deals, Path(stack.workdir) / f"e2e-{name}.txt")
    ids = [d.id for d in deals]
    before, started = cpu_seconds(stack), time.time()
    paid = wrk.run_until_done(load, stack.api, "load.lua", CONNECTIONS, "pay", str(path))
    funded = ears.wait_for(ids)
    cpu = cpu_per(before, cpu_seconds(stack), max(len(funded), 1))
    elapsed = max(funded.values(), default=started + 1) - started
    spans = _spans(funded, arrivals(stack, ids))
    return {"deals": count, "funded": len(funded), "pay_errors": paid.load.bad,
            "pay_statuses": paid.load.statuses,
            "funded_per_s": len(funded) / elapsed, "pays_per_s": paid.ok_per_second,
            "cores_busy": round(sum(cpu.values()) * len(funded) / 1000 / elapsed, 2),
            "cpu_ms_per_deal": cpu, **spans}


ROUND_DATA = ("deals", "deal_events", "payments", "postings", "notifications", "mpesa_callbacks")


def forget_deals(stack: Stack) -> None:
    """Delete what earlier rounds stored (the users stay), so that every round starts from the
    same database: nx-27017 answers some queries of the STK push path by scanning the
    payments (bench/README.md), and a round would otherwise pay for every round before it."""
    db = database(stack)
    for name in ROUND_DATA:
        db[name].delete_many({})
    db.client.close()


def stored_payments(stack: Stack) -> int:
    db = database(stack)
    try:
        return db.payments.count_documents({})
    finally:
        db.client.close()


def _spans(funded: dict[str, float], times: dict[str, dict[str, float]]) -> dict[str, Any]:
    callback = [(heard - times[d]["callback"]) * 1000 for d, heard in funded.items() if d in times]
    paid = [(heard - times[d]["paid"]) * 1000 for d, heard in funded.items() if d in times]
    if not callback:
        raise RuntimeError("no funded deal could be matched to its callback")
    return {"callback_to_event_p50_ms": percentile(callback, 50),
            "callback_to_event_p99_ms": percentile(callback, 99),
            "pay_to_event_p50_ms": percentile(paid, 50),
            "pay_to_event_p99_ms": percentile(paid, 99)}


def end_to_end(stack: Stack, load: str, people: People, phones: Phones, ears: Ears,
               deals: int, rounds: int, accumulate: bool = False) -> dict[str, Any]:
    runs = []
    for n in range(rounds):
        stored = stored_payments(stack)
        if stored and not accumulate:
            forget_deals(stack)
        runs.append({"payments_stored_before": stored_payments(stack),
                     **load_round(stack, load, people, phones, ears, deals, str(n))})
    out: dict[str, Any] = {"deals_per_round": deals, "rounds": runs}
    for run in runs:
        run["cpu_ms_per_deal_all"] = sum(run["cpu_ms_per_deal"].values())
    for key, unit in (("funded_per_s", "deals/s"), ("callback_to_event_p50_ms", "ms"),
                      ("callback_to_event_p99_ms", "ms"), ("pay_to_event_p50_ms", "ms"),
                      ("pay_to_event_p99_ms", "ms"), ("cores_busy", "cores"),
                      ("cpu_ms_per_deal_all", "ms")):
        out[key] = figure([r[key] for r in runs], unit)
    out["unfunded"] = sum(r["deals"] - r["funded"] for r in runs)
    out["cpu_ms_per_deal"] = sorted(runs, key=lambda r: r["funded_per_s"])[len(runs) // 2][
        "cpu_ms_per_deal"]  # of the median round
    out["pay_errors"] = sum(r["pay_errors"] for r in runs)
    return out


def idle(stack: Stack, people: People, phones: Phones, ears: Ears, count: int) -> dict[str, Any]:
    """What bench/funding.py measured: one deal at a time on a quiet system. Medians over
    ``count`` deals (two more warm up), beside an HTTP round trip to /api/health."""
    deals = open_deals(stack, people, count + 2, phones)
    http = requests.Session()
    health, accepted, funded = [], [], []
    for deal in deals:
        started = time.perf_counter()
        http.get(f"{stack.api}/api/health", timeout=10)
        health.append((time.perf_counter() - started) * 1000)
        accepted_ms, funded_ms = _pay_one(stack, http, ears, deal)
        accepted.append(accepted_ms)
        funded.append(funded_ms)
    times = arrivals(stack, [d.id for d in deals[2:]])
    callback = [(ears.funded[d] - t["callback"]) * 1000 for d, t in times.items()]
    return {"deals": count, "pay_202_ms": figure(accepted[2:], "ms"),
            "pay_to_event_ms": figure(funded[2:], "ms"),
            "callback_to_event_ms": figure(callback, "ms"),
            "health_floor_ms": figure(health[2:], "ms")}


def _pay_one(stack: Stack, http: requests.Session, ears: Ears, deal: Deal) -> tuple[float, float]:
    started = time.time()
    response = http.post(f"{stack.api}/api/transactions/{deal.id}/pay", timeout=30,
                         json={"phone": deal.phone},
                         headers={"Authorization": f"Bearer {deal.buyer.token}",
                                  "Idempotency-Key": f"bench-{deal.id}"})
    accepted = time.time()
    if response.status_code != 202:
        raise RuntimeError(f"pay: {response.status_code} {response.text}")
    heard = ears.wait_for([deal.id], stall_s=30)
    if not heard:
        raise RuntimeError(f"deal {deal.id} was not heard funded within 30 s")
    return (accepted - started) * 1000, (heard[deal.id] - started) * 1000
