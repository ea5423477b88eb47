"""Issue 8's goals, judged on the medians of one run (figures to aim at, not test assertions)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MB_LIMIT = 150
P99_INGEST_MS = 100
P99_CALLBACK_MS = 500
SLOW, FAST = "2000", "0"


def _median(results: dict[str, Any], *path: str) -> float | None:
    node: Any = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node["median"]) if isinstance(node, dict) else float(node)


def _goal(name: str, value: float | None, target: float | None, met: bool | None,
          shown: str) -> dict[str, Any]:
    return {"goal": name, "value": value, "target": target,
            "met": None if value is None or target is None else met, "shown": shown}


def judge(results: dict[str, Any]) -> list[dict[str, Any]]:
    return list(_goals(results))


def _goals(r: dict[str, Any]) -> Iterator[dict[str, Any]]:
    ingest = _median(r, "ingest", "requests_per_s")
    floor = _median(r, "floors", "lpush", "requests_per_s")
    half = None if floor is None else floor / 2
    yield _goal("ingest: POST /pay ≥ ½ the LPUSH floor", ingest, half,
                ingest is not None and half is not None and ingest >= half,
                f"{_n(ingest)} vs ½ × {_n(floor)} req/s")
    p99 = _median(r, "ingest", "p99_ms")
    yield _goal(f"ingest: p99 < {P99_INGEST_MS} ms at 32 connections", p99, P99_INGEST_MS,
                p99 is not None and p99 < P99_INGEST_MS, f"{_n(p99)} ms")
    slow = _median(r, "end_to_end", SLOW, "funded_per_s")
    fast = _median(r, "end_to_end", FAST, "funded_per_s")
    target = None if fast is None else 0.8 * fast
    yield _goal("funded/s at 2,000 ms ≥ 0.8 × at 0 ms", slow, target,
                slow is not None and target is not None and slow >= target,
                f"{_n(slow)} vs 0.8 × {_n(fast)} deals/s")
    inline = _median(r, "baseline", SLOW, "prompts_per_s")
    target = None if inline is None else 2 * inline
    yield _goal("funded/s at 2,000 ms ≥ 2 × inline prompts/s", slow, target,
                slow is not None and target is not None and slow >= target,
                f"{_n(slow)} vs 2 × {_n(inline)}")
    for latency in sorted(r.get("end_to_end", {}), key=int):
        p99 = _median(r, "end_to_end", latency, "callback_to_event_p99_ms")
        yield _goal(f"callback → event p99 < {P99_CALLBACK_MS} ms at {int(latency):,} ms",
                    p99, P99_CALLBACK_MS, p99 is not None and p99 < P99_CALLBACK_MS,
                    f"{_n(p99)} ms")
    for name, peak in r.get("memory_mb", {}).items():
        yield _goal(f"{name} peak RSS < {MB_LIMIT} MB", peak, MB_LIMIT, peak < MB_LIMIT,
                    f"{peak:.1f} MB")


def _n(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
