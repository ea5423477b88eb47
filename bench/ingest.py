"""Ingest: ``POST /api/transactions/{id}/pay`` at 32 connections from wrk, the API alone.

The workers are stopped first, so that the figure is what the API accepts (the tasks wait in
Redis) and compares with the LPUSH floor, measured with the same API flags and no workers busy.
Each round pays fresh pending deals, each once with its own phone; the deals are opened before
the round, untimed, as many as a short calibration run says the round will use."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import wrk
from bench.figures import figure
from bench.people import People, Phones, deals_file, open_deals
from bench.system import cpu_per, cpu_seconds
from tests.stack import WORKER_POOLS, Stack

CONNECTIONS = 32
CALIBRATION_S = 2
HEADROOM = 1.4  # deals opened per deal the calibration says a round will pay


def ingest(stack: Stack, load: str, people: People, phones: Phones, seconds: float,
           rounds: int) -> dict[str, Any]:
    for pool in WORKER_POOLS:
        stack.stop(f"worker-{pool}")
    calibration = _round(stack, load, people, phones, CALIBRATION_S, 400, "calibration")
    rate = max(calibration.load.ok_per_second, 50.0)
    runs = []
    for n in range(rounds):
        wanted = math.ceil(rate * seconds * HEADROOM) + 100
        result = _round(stack, load, people, phones, seconds, wanted, f"round-{n}")
        if result.load.exhausted:  # faster than calibrated: pay the round again, more deals
            result = _round(stack, load, people, phones, seconds, wanted * 2, f"round-{n}b")
        if result.load.exhausted:
            raise RuntimeError(f"ingest round {n} ran out of deals twice")
        runs.append(result)
        rate = max(rate, result.load.ok_per_second)
    loads = [r.load for r in runs]
    return {"requests_per_s": figure([r.ok_per_second for r in loads], "req/s"),
            "p50_ms": figure([r.p50_ms for r in loads], "ms"),
            "p99_ms": figure([r.p99_ms for r in loads], "ms"),
            "errors": sum(r.bad for r in loads), "statuses": _merged(r.statuses for r in loads),
            "seconds": seconds,
            "requests": sum(r.requests for r in loads),
            "cpu_ms_per_request": sorted(runs, key=lambda r: r.load.ok_per_second)[
                len(runs) // 2].cpu_ms}  # of the median round


def _merged(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for count in counts:
        total.update(count)
    return dict(total)


@dataclass(frozen=True)
class Round:
    load: wrk.Load
    cpu_ms: dict[str, float]  # CPU per request, by process


def _round(stack: Stack, load: str, people: People, phones: Phones, seconds: float,
           deals: int, name: str) -> Round:
    path = deals_file(open_deals(stack, people, deals, phones),
                      Path(stack.workdir) / f"ingest-{name}.txt")
    before = cpu_seconds(stack)
    result = wrk.run(load, stack.api, "load.lua", seconds, CONNECTIONS, "pay", str(path))
    return Round(result, cpu_per(before, cpu_seconds(stack), max(result.requests, 1)))
