"""Faults done to a running stack: freeze a process (SIGSTOP), restart it on the same port, or
SIGKILL it; and probes that time what the API answers meanwhile. Only Stack's public methods.

Redis and the Mongo-wire server are frozen or restarted only in a stack that owns them
(``start_stack(own_servers=True)``): with MONGO_URL / REDIS_URL given to `make test`, those
fault tests still run on embedded servers, never on the user's."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psutil
import requests

from devstack import services
from tests.helpers import Api, wait_until
from tests.stack import WORKER_POOLS, Stack

PORTS = {"redis": "EMBEDDED_REDIS_PORT", "mongo": "EMBEDDED_MONGO_PORT"}


def pids(stack: Stack, name: str) -> list[int]:
    """The process ``name`` and its children (a service may run in a child of what we spawned)."""
    root = psutil.Process(stack.processes[name].pid)
    return [root.pid, *(child.pid for child in root.children(recursive=True))]


@contextmanager
def frozen(stack: Stack, name: str) -> Iterator[None]:
    """SIGSTOP ``name`` (and its children) for the block: it holds its sockets and answers
    nothing, as a hung server does; SIGCONT afterwards, whatever happened."""
    stopped = pids(stack, name)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)


def restart(stack: Stack, name: str, kill: bool = False) -> None:
    """Stop ``name`` (SIGTERM, or SIGKILL) and start it again on the same port and data."""
    if name in PORTS and not stack.embedded:
        raise ValueError(f"{name} is not this stack's to restart: start_stack(own_servers=True)")
    if kill:
        stack.kill(name)
    else:
        stack.stop(name)
    if name in PORTS:
        port = int(stack.env[PORTS[name]])
        command = {"redis": services.redis_command,
                   "mongo": services.mongo_command}[name](port, stack.workdir)
        stack.start(name, command)
        services.wait_for_port(port)
    elif name == "api":
        stack.start_api()
        services.wait_for_http(f"{stack.api}/api/health", timeout=60)
    elif name.startswith("worker-") and name[len("worker-"):] in WORKER_POOLS:
        stack.start_worker(name[len("worker-"):])
    else:
        raise ValueError(f"no way to restart {name}")


def supervise(stack: Stack) -> list[str]:
    """What a process supervisor does: start again every worker that died, and say which,
    with the last error it logged (kombu 5.7 can kill a worker when Redis goes away while it
    holds unacknowledged tasks: docs/reliability.md)."""
    revived = []
    for name, process in list(stack.processes.items()):
        if name.startswith("worker-") and process.poll() is not None:
            last = _last_error(stack.tail(name, 400)) or f"exit {process.returncode}"
            restart(stack, name)
            revived.append(f"{name}: {last}")
    return revived


def _last_error(log: str) -> str | None:
    """The last line of the last traceback in a JSON log."""
    last = None
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("exception"):
            last = str(record["exception"]).strip().splitlines()[-1]
    return last


def ready(stack: Stack) -> dict[str, Any]:
    """/api/ready's checks, once everything answers again."""
    def all_ok() -> dict[str, Any] | None:
        try:
            answer = requests.get(f"{stack.api}/api/ready", timeout=5)
        except requests.RequestException:
            return None
        return answer.json()["data"]["checks"] if answer.status_code == 200 else None

    return wait_until(all_ok, timeout=30, every=0.2, what="the API to be ready again")


@dataclass
class Probe:
    """One kind of request, sent back to back while a fault lasts: (seconds, status) each."""

    name: str
    send: Callable[[], requests.Response]
    check: Callable[[requests.Response], str | None] = lambda _: None  # what is wrong, if any
    answers: list[tuple[float, int | str]] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)

    def once(self) -> None:
        started = time.perf_counter()
        try:
            response = self.send()
        except requests.RequestException as exc:
            self.answers.append((time.perf_counter() - started, type(exc).__name__))
            return
        self.answers.append((time.perf_counter() - started, response.status_code))
        problem = self.check(response)
        if problem:
            self.wrong.append(problem)

    @property
    def slowest_s(self) -> float:
        return max((s for s, _ in self.answers), default=0.0)

    def statuses(self) -> set[int | str]:
        return {status for _, status in self.answers}


def run_probes(probes: list[Probe], least: int = 3, timeout: float = 30.0) -> None:
    """Send every probe back to back, each in its own thread, until each has answered
    ``least`` times."""
    done = threading.Event()

    def loop(probe: Probe) -> None:
        while not done.is_set():
            probe.once()

    threads = [threading.Thread(target=loop, args=(p,), daemon=True) for p in probes]
    for thread in threads:
        thread.start()
    try:
        wait_until(lambda: all(len(p.answers) >= least for p in probes), timeout=timeout,
                   every=0.05, what=f"{least} answers to every probe")
    except AssertionError as late:
        seen = {p.name: [(round(s, 2), status) for s, status in p.answers] for p in probes}
        raise AssertionError(f"{late}; the answers so far (seconds, status): {seen}") from None
    finally:
        done.set()
        for thread in threads:
            thread.join(15)


PROBE_TIMEOUT_S = 10  # far above the 2 s the API must answer within: we measure, not cut off


def unavailable(response: requests.Response) -> str | None:
    """Why ``response`` is not a 503 in the envelope, or None."""
    if response.status_code != 503:
        return f"{response.status_code}: {response.text[:200]}"
    body = response.json()
    if body.get("success") is not False or body["error"]["code"] != "SERVICE_UNAVAILABLE":
        return f"not the 503 envelope: {response.text[:200]}"
    if not response.headers.get("Retry-After"):
        return "a 503 without Retry-After"
    return None


def not_ready_naming(dependency: str) -> Callable[[requests.Response], str | None]:
    def check(response: requests.Response) -> str | None:
        if response.status_code != 503:
            return f"ready answered {response.status_code}"
        checks = response.json()["data"]["checks"]
        if not str(checks.get(dependency, "")).startswith("down"):
            return f"ready did not name {dependency}: {checks}"
        return None

    return check


def acknowledged(response: requests.Response) -> str | None:
    return None if response.status_code == 200 else f"callback got {response.status_code}"


def callback_probe(stack: Stack, check: Callable[[requests.Response], str | None]) -> Probe:
    """M-Pesa's STK callback for a push of nobody's (``ws_CO_probe…``): stored or refused."""
    url = f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}"

    def send() -> requests.Response:
        body = {"Body": {"stkCallback": {
            "MerchantRequestID": "probe", "CheckoutRequestID": f"ws_CO_probe{uuid.uuid4().hex}",
            "ResultCode": 1032, "ResultDesc": "Request cancelled by user"}}}
        return requests.post(url, json=body, timeout=PROBE_TIMEOUT_S)

    return Probe("callback", send, check)


def api_probes(stack: Stack, buyer: Api, deal_id: str, dependency: str) -> list[Probe]:
    """Reading a deal, paying it, and /api/ready: each must say 503 (naming ``dependency``
    for ready) quickly while ``dependency`` is frozen."""
    def read() -> requests.Response:
        return requests.get(f"{stack.api}/api/transactions/{deal_id}", timeout=PROBE_TIMEOUT_S,
                            headers={"Authorization": f"Bearer {buyer.token}"})

    def pay() -> requests.Response:
        return requests.post(f"{stack.api}/api/transactions/{deal_id}/pay",
                             json={"phone": "254708374149"}, timeout=PROBE_TIMEOUT_S,
                             headers={"Authorization": f"Bearer {buyer.token}",
                                      "Idempotency-Key": uuid.uuid4().hex})

    return [Probe("read", read, unavailable), Probe("pay", pay, unavailable),
            Probe("ready", lambda: requests.get(f"{stack.api}/api/ready",
                                                timeout=PROBE_TIMEOUT_S),
                  not_ready_naming(dependency))]
