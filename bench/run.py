"""``make bench``: every figure beside its floor, measured in one run; one table, one JSON file.

    make bench                                  # the full run (about 15 minutes here)
    .venv/bin/python -m bench --quick           # a small version, a few minutes
    .venv/bin/python -m bench --deals 200 --rounds 1 --latencies 300 --only e2e

bench/README.md explains each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from bench import baseline, endtoend, floors, goals, ingest, report, wrk
from bench.people import People, Phones
from bench.system import CALLBACK_DELAY_MS, Layout, peak_rss_mb, procfile_layout, start_system
from tests.stack import ROOT, WORKER_POOLS, Stack

RESULTS = ROOT / "bench" / "results"
PROCESSES = ["api", *(f"worker-{pool}" for pool in WORKER_POOLS)]
PHASES = ("floors", "ingest", "e2e")


def options(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--deals", type=int, default=1000, help="end-to-end deals a round (1000)")
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds of the floors, ingest and baseline (3)")
    p.add_argument("--e2e-rounds", type=int, default=2,
                   help="end-to-end rounds at each latency (2: each is 1,000 deals and up to "
                        "two minutes)")
    p.add_argument("--seconds", type=float, default=8,
                   help="length of a floor, ingest or baseline round (8)")
    p.add_argument("--latencies", default="0,300,2000",
                   help="SANDBOX_LATENCY_MS values, comma-separated (0,300,2000)")
    p.add_argument("--buyers", type=int, default=8, help="buyers, each listening (8)")
    p.add_argument("--celery-tasks", type=int, default=1000, help="no-op tasks a round (1000)")
    p.add_argument("--inserts", type=int, default=2000, help="Mongo inserts a round (2000)")
    p.add_argument("--idle-deals", type=int, default=20, help="one-at-a-time deals (20)")
    p.add_argument("--accumulate", action="store_true",
                   help="end-to-end rounds keep the earlier rounds' deals (by default each "
                        "round starts from an empty database but for the users)")
    p.add_argument("--only", default=",".join(PHASES), help=f"phases to run ({','.join(PHASES)})")
    p.add_argument("--quick", action="store_true",
                   help="a small run: 150 deals, 1 round, 3 s rounds; writes quick.json")
    p.add_argument("--out", type=Path, help="where the JSON goes (results/latest.json)")
    args = p.parse_args(argv)
    if args.quick:
        args.deals, args.rounds, args.e2e_rounds, args.seconds = min(args.deals, 150), 1, 1, 3
        args.celery_tasks, args.inserts, args.idle_deals = 500, 500, 5
    args.out = args.out or RESULTS / ("quick.json" if args.quick else "latest.json")
    args.latency_list = [int(x) for x in args.latencies.split(",") if x.strip()]
    args.phases = {x.strip() for x in args.only.split(",")}
    if args.phases - set(PHASES):
        p.error(f"--only takes {', '.join(PHASES)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = options(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the stacks on the way out
    load = wrk.ensure_wrk()
    layout = procfile_layout()
    started = time.time()
    results: dict[str, Any] = {
        "commit": _git("rev-parse", "HEAD"), "dirty": _git("status", "--porcelain").splitlines(),
        "started_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(load), "layout": layout.describe(),
        "options": {"deals": args.deals, "rounds": args.rounds, "e2e_rounds": args.e2e_rounds,
                    "seconds": args.seconds,
                    "latencies_ms": args.latency_list, "buyers": args.buyers,
                    "accumulate": args.accumulate,
                    "callback_delay_ms": CALLBACK_DELAY_MS, "connections": ingest.CONNECTIONS},
    }
    peaks: dict[str, dict[str, float]] = {}
    if args.phases & {"floors", "ingest"}:
        _floors_and_ingest(args, load, layout, results, peaks)
    if "e2e" in args.phases:
        for latency in args.latency_list:
            _end_to_end(args, load, layout, latency, results, peaks)
    results["memory_peaks_by_stack"] = peaks
    results["memory_mb"] = {name: round(max(p[name] for p in peaks.values() if name in p), 1)
                            for name in PROCESSES if any(name in p for p in peaks.values())}
    results["machine"]["load_after"] = _load()
    results["duration_s"] = round(time.time() - started)
    results["goals"] = goals.judge(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(report.render(results))
    print(f"\nwritten to {os.path.relpath(args.out)}")


def _floors_and_ingest(args: argparse.Namespace, load: str, layout: Layout,
                       results: dict[str, Any], peaks: dict[str, dict[str, float]]) -> None:
    stack = _stack(layout, 0)
    try:
        if "floors" in args.phases:
            _say("floors: bare Flask LPUSH, Celery no-op tasks, Mongo-wire inserts")
            results["floors"] = {
                "lpush": floors.lpush(stack, load, layout, args.seconds, args.rounds),
                "celery": {pool: floors.celery(stack, layout.pools[pool], args.celery_tasks,
                                               args.rounds) for pool in ("payments", "callbacks")},
                "mongo": floors.mongo(stack, args.inserts, args.rounds)}
        if "ingest" in args.phases:
            _say("ingest: POST /pay at 32 connections")
            people = People.sign_up(stack, args.buyers)
            results["ingest"] = ingest.ingest(stack, load, people, Phones(), args.seconds,
                                              args.rounds)
            peaks["ingest"] = peak_rss_mb(stack, ["api"])
    finally:
        stack.close()


def _end_to_end(args: argparse.Namespace, load: str, layout: Layout, latency: int,
                results: dict[str, Any], peaks: dict[str, dict[str, float]]) -> None:
    stack = _stack(layout, latency)
    try:
        people, phones = People.sign_up(stack, args.buyers), Phones()
        ears = endtoend.Ears(stack, people)
        try:
            if latency == 0 and args.idle_deals:
                _say("one deal at a time, as the former bench/funding.py measured")
                results["idle"] = {**endtoend.idle(stack, people, phones, ears, args.idle_deals),
                                   "callback_delay_ms": CALLBACK_DELAY_MS}
            _say(f"end to end at {latency} ms: {args.e2e_rounds} × {args.deals} deals")
            results.setdefault("end_to_end", {})[str(latency)] = endtoend.end_to_end(
                stack, load, people, phones, ears, args.deals, args.e2e_rounds, args.accumulate)
        finally:
            ears.close()
        _say(f"inline baseline at {latency} ms")
        results.setdefault("baseline", {})[str(latency)] = baseline.inline(
            stack, load, latency, args.seconds, args.rounds)
        peaks[f"e2e-{latency}ms"] = peak_rss_mb(stack, PROCESSES)
    finally:
        stack.close()


def _stack(layout: Layout, latency: int) -> Stack:
    _say(f"starting the system (sandbox latency {latency} ms)")
    return start_system(layout, latency)


def _say(what: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {what}", flush=True)


def _git(*args: str) -> str:
    out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _machine(load: str) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor() or "unknown")
    return {"cpus": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "wrk": wrk.version(load),
            "load_before": _load()}
