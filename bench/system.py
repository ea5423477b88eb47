"""The whole system for the bench, laid out as Procfile.dev: tests/stack.py's stack with the
API's gunicorn and the worker pools sized as Procfile.dev says, rate limits off."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import psutil

from devstack import services
from tests.stack import BIN, ROOT, WORKER_POOLS, Stack, start_stack

PROCFILE = ROOT / "Procfile.dev"
CALLBACK_DELAY_MS = 300  # the customer's "thinking time" in the sandbox (its default)
PRODUCTION_QUERY_DELAYS = "60,60,120,240,480,960,1920"  # adapters/settings.py's default


@dataclass(frozen=True)
class Layout:
    """What Procfile.dev runs: gunicorn workers × threads, and each Celery pool's threads."""

    api_workers: int
    api_threads: int
    pools: dict[str, int]

    def describe(self) -> str:
        pools = ", ".join(f"{name} {threads}" for name, threads in self.pools.items())
        return (f"gunicorn -w {self.api_workers} --threads {self.api_threads}; "
                f"Celery thread pools: {pools}")


def procfile_layout(path: Path = PROCFILE) -> Layout:
    """Read the layout from Procfile.dev, so the bench follows it when it changes."""
    text = path.read_text()
    api = re.search(r"^api:.*gunicorn.*?-w (\d+).*?--threads (\d+)", text, re.MULTILINE)
    pools = {name: int(n) for name, n in
             re.findall(r"^worker-(\w+):.*-c \$\{\w+_CONCURRENCY:-(\d+)\}", text, re.MULTILINE)}
    if api is None or set(pools) != set(WORKER_POOLS):
        raise SystemExit(f"cannot read the API's gunicorn flags and the pools {list(WORKER_POOLS)}"
                         f" from {path}; bench/system.py expects Procfile.dev's form")
    return Layout(int(api.group(1)), int(api.group(2)), pools)


def gunicorn(port: str, app: str, workers: int, threads: int) -> list[str]:
    return [str(BIN / "gunicorn"), "-w", str(workers), "--threads", str(threads),
            "-b", f"127.0.0.1:{port}", app]


def start_system(layout: Layout, latency_ms: int) -> Stack:
    """The stack with the sandbox answering after ``latency_ms`` and Procfile.dev's sizes."""
    env = {f"{pool.upper()}_CONCURRENCY": str(n) for pool, n in layout.pools.items()}
    stack = start_stack(
        callback_delay_ms=CALLBACK_DELAY_MS, SANDBOX_LATENCY_MS=str(latency_ms),
        RATELIMIT_ENABLED="false",  # adapters/settings.py; the limits are not under test
        ACCESS_TOKEN_MINUTES="600",  # the buyers' tokens outlive the run
        STK_QUERY_DELAYS_S=PRODUCTION_QUERY_DELAYS, **env)
    try:  # tests/stack.py starts a test-sized API (32 threads): replace it by Procfile.dev's
        stack.stop("api")
        stack.start("api", gunicorn(stack.env["API_PORT"], "wsgi:app", layout.api_workers,
                                    layout.api_threads))
        services.wait_for_http(f"{stack.api}/api/health", timeout=60)
    except Exception:
        stack.close()
        raise
    return stack


def start_app(stack: Stack, name: str, app: str, workers: int, threads: int) -> str:
    """Another gunicorn app (a floor, the baseline) beside the stack, with its env; its URL."""
    port = str(services.free_port())
    stack.start(name, gunicorn(port, app, workers, threads), {"BENCH_PORT": port})
    url = f"http://127.0.0.1:{port}"
    services.wait_for_http(f"{url}/health", timeout=60)
    return url


def peak_rss_mb(stack: Stack, names: list[str]) -> dict[str, float]:
    """Peak resident memory (the kernel's VmHWM) of each named process of the stack. For
    gunicorn, the largest of its workers (the master only forks and watches)."""
    peaks = {}
    for name in names:
        process = psutil.Process(stack.processes[name].pid)
        family = process.children(recursive=True) or [process]
        peaks[name] = max(_hwm_kb(p.pid) for p in family) / 1024
    return peaks


def _hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmHWM for process {pid}")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time (user + system) used so far by each process of the stack, its children
    included, and by this bench process (the Socket.IO clients, the deal openers)."""
    used = {"bench": _cpu(psutil.Process())}
    for name, popen in stack.processes.items():
        try:
            process = psutil.Process(popen.pid)
            used[name] = _cpu(process) + sum(_cpu(c) for c in process.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return used


def cpu_per(before: dict[str, float], after: dict[str, float], count: int) -> dict[str, float]:
    """Milliseconds of CPU per request or deal, by process, busiest first."""
    spent = {name: (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}
    return {name: round(ms, 2) for name, ms in sorted(spent.items(), key=lambda kv: -kv[1])
            if ms >= 0.05}


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)
