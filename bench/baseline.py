"""The inline baseline (bench/apps/inline.py) against the same sandbox: STK prompts per second
at 32 connections from wrk, under gunicorn 1 × 32 threads."""

from __future__ import annotations

import math
from typing import Any

import requests

from bench import wrk
from bench.figures import figure
from bench.system import start_app
from tests.stack import Stack

CONNECTIONS = 32
WORKERS, THREADS = 1, 32
FIRST_PHONE = 254_740_000_000  # apart from the deals' phones (bench/people.py)


def inline(stack: Stack, load: str, latency_ms: int, seconds: float,
           rounds: int) -> dict[str, Any]:
    """Each round sends a fixed number of prompts, a multiple of the connections, enough for
    about ``seconds`` (every connection waits out the same latency, so a time window would cut
    the last batch in half); the rate is that count over the time to its last answer."""
    count = CONNECTIONS * max(5, math.ceil(seconds * 1000 / (latency_ms + 150)))
    url = start_app(stack, "inline", "bench.apps.inline:app", WORKERS, THREADS)
    try:
        first = requests.post(f"{url}/pay", json={"phone": str(FIRST_PHONE - 1)}, timeout=60)
        if first.status_code != 200:  # also fetches the OAuth token, untimed
            raise RuntimeError(f"the inline baseline failed: {first.status_code} {first.text}")
        runs = [wrk.run_until_done(load, f"{url}/pay", "load.lua", CONNECTIONS, "push",
                                   str(FIRST_PHONE + n * 1_000_000), "200", str(count))
                for n in range(rounds)]
    finally:
        stack.stop("inline")
    return {"prompts_per_s": figure([r.ok_per_second for r in runs], "prompts/s"),
            "p50_ms": figure([r.load.p50_ms for r in runs], "ms"),
            "p99_ms": figure([r.load.p99_ms for r in runs], "ms"), "prompts": count,
            "errors": sum(r.load.bad for r in runs), "gunicorn": f"{WORKERS} × {THREADS} threads"}
