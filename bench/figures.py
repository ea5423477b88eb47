"""Medians over rounds with their spread, and percentiles within a round."""

from __future__ import annotations

import math
import statistics
from typing import Any


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q ≤ 100) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def figure(rounds: list[float], unit: str) -> dict[str, Any]:
    """One figure: its median over the rounds, the lowest and highest round, every round."""
    return {"median": round(statistics.median(rounds), 1), "min": round(min(rounds), 1),
            "max": round(max(rounds), 1), "unit": unit, "rounds": [round(r, 1) for r in rounds]}
