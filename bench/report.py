"""The one table ``make bench`` prints, from the results it writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

LABEL = 45
CELL = 25
MET = {True: "met", False: "NOT MET", None: "not measured"}


def _cell(figure: dict[str, Any] | None, unit: str = "") -> str:
    """``median [lowest–highest]``; one round shows the median alone."""
    if not figure:
        return "—"
    text = f"{_num(figure['median'])}{unit}"
    if len(figure["rounds"]) == 1:
        return text
    return f"{text} [{_num(figure['min'])}–{_num(figure['max'])}]"


def _num(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def _row(label: str, *cells: str, width: int = CELL) -> str:
    return f"  {label:<{LABEL}}" + "".join(f"{c:<{width}}" for c in cells).rstrip()


def render(r: dict[str, Any]) -> str:
    lines = _header(r)
    lines += _floors(r.get("floors"))
    lines += _ingest(r.get("ingest"), r.get("floors"))
    lines += _end_to_end(r.get("end_to_end", {}), r.get("baseline", {}), r["options"])
    lines += _memory(r.get("memory_mb", {}))
    lines += _idle(r.get("idle"))
    lines += ["", "Goals (issue 8; medians of this run)"]
    lines += [_row(g["goal"], g["shown"], MET[g["met"]], width=32) for g in r["goals"]]
    return "\n".join(lines)


def _header(r: dict[str, Any]) -> list[str]:
    m, o = r["machine"], r["options"]
    dirty = f" (+ {len(r['dirty'])} uncommitted paths)" if r["dirty"] else ""
    rounds = "1 round" if o["rounds"] == 1 else f"{o['rounds']} rounds [lowest–highest round]"
    e2e = o.get("e2e_rounds", o["rounds"])
    rounds += f", end to end over {e2e} round{'s' if e2e != 1 else ''}"
    return [f"make bench  {r['started_at']}  commit {r['commit'][:10]}{dirty}  "
            f"{r['duration_s'] / 60:.1f} min",
            f"{m['cpus']} CPUs ({m['cpu']}), load average {m['load_before']} before, "
            f"{m['load_after']} after",
            f"Procfile.dev layout: {r['layout']}; rate limits off",
            f"medians over {rounds}"]


def _floors(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return []
    lpush = f["lpush"]
    lines = ["", "Floors (same run)",
             _row("bare Flask LPUSH (API's gunicorn, 32 conns)",
                  _cell(lpush["requests_per_s"], " req/s"), f"p50 {_cell(lpush['p50_ms'], ' ms')}",
                  f"p99 {_cell(lpush['p99_ms'], ' ms')}", width=28)]
    for pool, c in f["celery"].items():
        lines.append(_row(f"Celery no-op, {pool} pool ({c['threads']} threads)",
                          _cell(c["tasks_per_s"], " tasks/s")))
    lines.append(_row("nx-27017 insert_one, one client",
                      _cell(f["mongo"]["inserts_per_s"], " inserts/s")))
    return lines


def _ingest(i: dict[str, Any] | None, f: dict[str, Any] | None) -> list[str]:
    if not i:
        return []
    ratio = ""
    if f:
        share = i["requests_per_s"]["median"] / f["lpush"]["requests_per_s"]["median"]
        ratio = f"{share:.2f} × the LPUSH floor"
    return ["", "Ingest: POST /pay from wrk at 32 connections, workers stopped",
            _row("requests/s", _cell(i["requests_per_s"], " req/s"), ratio),
            _row("latency p50, p99", _cell(i["p50_ms"], " ms"), _cell(i["p99_ms"], " ms")),
            *([_row("POST /pay not 202 (all rounds)", _refusals([i["statuses"]]))]
              if _refusals([i.get("statuses", {})]) else []),
            _row("CPU ms per request (median round)",
                 f"{sum(i['cpu_ms_per_request'].values()):.1f} in all: "
                 + _cpu(i["cpu_ms_per_request"]), width=80)]


def _cpu(spent: dict[str, float], top: int = 5) -> str:
    return ", ".join(f"{name} {ms:.1f}" for name, ms in list(spent.items())[:top])


E2E_ROWS = (("deals funded/s, pay → event", "funded_per_s"),
            ("callback received → event, p50 ms", "callback_to_event_p50_ms"),
            ("callback received → event, p99 ms", "callback_to_event_p99_ms"),
            ("pay accepted → event, p50 ms", "pay_to_event_p50_ms"),
            ("pay accepted → event, p99 ms", "pay_to_event_p99_ms"))


def _end_to_end(e: dict[str, Any], b: dict[str, Any], options: dict[str, Any]) -> list[str]:
    if not e:
        return []
    latencies = sorted(e, key=int)
    lines = ["", f"End to end: {options['deals']:,} deals a round from wrk at 32 connections, "
             f"{options['buyers']} buyers listening, callback {options['callback_delay_ms']} ms "
             "after the prompt, "
             + ("rounds accumulate" if options.get("accumulate") else "each round on an emptied "
                "database"),
             _row("provider latency (SANDBOX_LATENCY_MS)", *[f"{int(x):,} ms" for x in latencies])]
    lines += [_row(label, *[_cell(e[x][key]) for x in latencies]) for label, key in E2E_ROWS]
    if b:
        lines.append(_row("inline baseline prompts/s (1 × 32 threads)",
                          *[_cell(b[x]["prompts_per_s"]) if x in b else "—" for x in latencies]))
    unfunded = [str(e[x]["unfunded"]) for x in latencies]
    if any(u != "0" for u in unfunded):
        lines.append(_row("deals never heard funded (all rounds)", *unfunded))
    refused = [_refusals(r.get("pay_statuses", {}) for r in e[x]["rounds"]) for x in latencies]
    if any(refused):
        lines.append(_row("POST /pay not 202 (all rounds)", *[r or "0" for r in refused]))
    lines.append(_row("cores busy, pay to last event", *[_cell(e[x]["cores_busy"])
                                                          for x in latencies]))
    lines.append(_row("CPU ms per deal, all processes", *[_cell(e[x]["cpu_ms_per_deal_all"])
                                                           for x in latencies]))
    names = list(dict.fromkeys(n for x in latencies for n in e[x]["cpu_ms_per_deal"]))[:7]
    for name in names:
        lines.append(_row(f"  of which {name} (median round)",
                          *[f"{e[x]['cpu_ms_per_deal'].get(name, 0):.1f}" for x in latencies]))
    return lines


def _refusals(statuses: Iterable[dict[str, int]]) -> str:
    """``"42 × 503"``: the answers other than 202, by status."""
    total: Counter[str] = Counter()
    for count in statuses:
        total.update({status: n for status, n in count.items() if status != "202"})
    return ", ".join(f"{n} × {status}" for status, n in sorted(total.items()))


def _memory(m: dict[str, float]) -> list[str]:
    if not m:
        return []
    return ["", "Peak RSS (VmHWM) over the run",
            _row("", *m.keys(), width=18),
            _row("", *[f"{v:.1f} MB" for v in m.values()], width=18)]


def _idle(i: dict[str, Any] | None) -> list[str]:
    if not i:
        return []
    return ["", f"One deal at a time on a quiet system, 0 ms latency ({i['deals']} deals; "
            "what the former bench/funding.py measured)",
            _row("POST /pay → 202", _cell(i["pay_202_ms"], " ms"),
                 f"floor: GET /api/health {_cell(i['health_floor_ms'], ' ms')}", width=26),
            _row("POST /pay → deal active event", _cell(i["pay_to_event_ms"], " ms"),
                 f"floor: the {i['callback_delay_ms']} ms callback delay", width=26),
            _row("callback received → event", _cell(i["callback_to_event_ms"], " ms"),
                 width=26)]
