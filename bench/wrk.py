"""The load generator: wrk (Debian's package), driven by the Lua scripts beside this file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent


class WrkMissing(SystemExit):
    def __init__(self, why: str) -> None:
        super().__init__(f"make bench needs wrk (the HTTP load generator) and {why}.\n"
                         "Install it (Debian/Ubuntu: apt-get install -y wrk; macOS: brew install "
                         "wrk) and run make bench again.")


def ensure_wrk() -> str:
    """The path of wrk, installed with apt-get when missing and we are root on Debian."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise WrkMissing("it is not installed (and this is not root with apt-get, so make "
                         "bench cannot install it)")
    print("wrk is missing: apt-get install -y wrk", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ,
                                                   "DEBIAN_FRONTEND": "noninteractive"}}
    installed = subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
    if installed.returncode != 0:  # a fresh container has no package lists yet
        subprocess.run(["apt-get", "update"], check=False, **quiet)
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, **quiet)
    found = shutil.which("wrk")
    if not found:
        raise WrkMissing("apt-get install -y wrk failed (no network to the Debian mirror?)")
    return found


def version(wrk: str) -> str:
    out = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else "unknown"


@dataclass(frozen=True)
class Load:
    """What one wrk run measured (the Lua script's ``done`` prints it as JSON)."""

    requests: int
    seconds: float
    ok: int  # answers with the status the script expects
    bad: int  # other statuses, socket errors and timeouts
    p50_ms: float
    p99_ms: float
    exhausted: int  # requests the script had no fresh input for
    statuses: dict[str, int]  # answers by HTTP status (the pay mode's fillers left out)
    socket_errors: int  # connect, read and write errors, and timeouts

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds


def run(wrk: str, url: str, script: str, seconds: float, connections: int,
        *args: str) -> Load:
    """wrk for ``seconds`` at ``connections`` connections (one thread: wrk is not the limit)."""
    command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "30s", "-s", str(HERE / script), url, "--", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=False,
                         timeout=seconds + 60)
    return _parse(out.stdout, out.stderr)


@dataclass(frozen=True)
class Counted:
    """A run of a fixed number of requests: how long until the last was answered."""

    load: Load
    seconds: float  # from starting wrk to the last of ``count`` answers
    ok: int  # of those ``count`` answers

    @property
    def ok_per_second(self) -> float:
        return self.ok / self.seconds


def run_until_done(wrk: str, url: str, script: str, connections: int, *args: str,
                   timeout: float = 900) -> Counted:
    """wrk until the script prints ``all answered <ok>`` (its whole count answered), then
    SIGINT: wrk prints its summary and exits. ``timeout`` is wrk's duration, the cap."""
    command = [wrk, "-t", "1", "-c", str(connections), "-d", f"{round(timeout)}s",
               "--timeout", "30s", "-s", str(HERE / script), url, "--", *args]
    started = time.perf_counter()
    seconds, ok, lines = None, 0, []
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("all answered"):
                seconds, ok = time.perf_counter() - started, int(line.split()[-1])
                process.send_signal(signal.SIGINT)
        stderr = process.stderr.read() if process.stderr else ""
    load = _parse("".join(lines), stderr)
    if seconds is None:
        raise RuntimeError(f"wrk stopped before every request was answered: {load}")
    return Counted(load, seconds, ok)


def _parse(stdout: str, stderr: str) -> Load:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            d = json.loads(line)
            return Load(d["requests"], d["duration_us"] / 1e6, d["ok"], d["bad"],
                        d["p50_us"] / 1000, d["p99_us"] / 1000, d["exhausted"], d["statuses"],
                        d["socket_errors"])
    raise RuntimeError(f"wrk printed no summary:\n{stdout[-2000:]}\n{stderr[-2000:]}")
