"""The whole system on free loopback ports: Redis, nx-27017, the sandbox, the API, a worker."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from devstack import services

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The worker pools of Procfile.dev, smaller: (queues, threads). I/O-bound Daraja calls in
# one pool that holds many in flight, callbacks in their own, sweeps in theirs.
WORKER_POOLS = {"payments": ("payments", 16), "callbacks": ("callbacks", 8),
                "recon": ("recon,default", 2)}


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.env['SANDBOX_PORT']}"

    @property
    def callback_token(self) -> str:
        return self.env["MPESA_CALLBACK_TOKEN"]

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> None:
        self.processes[name] = services.spawn(
            command, env={**self.env, **(extra_env or {})}, log=self.log(name), cwd=ROOT)

    def kill(self, name: str) -> None:
        """SIGKILL the process and its children: no clean shutdown, no requeue on the way out."""
        process = self.processes.pop(name)
        os.killpg(process.pid, 9)
        process.wait(10)

    def stop(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is not None:
            services.stop(process)

    def start_worker(self, pool: str = "payments", name: str | None = None) -> None:
        """One worker of ``pool`` (WORKER_POOLS; ``<POOL>_CONCURRENCY`` in the stack's env
        overrides its threads, as in Procfile.dev), named ``worker-<pool>`` unless ``name``."""
        queues, default = WORKER_POOLS[pool]
        concurrency = self.env.get(f"{pool.upper()}_CONCURRENCY") or default
        name = name or f"worker-{pool}"
        self.start(name, [str(BIN / "celery"), "-A", "workers.celery_app", "worker",
                          "-Q", queues, "-P", "threads", "-c", str(concurrency), "-l", "INFO",
                          "--without-mingle", "--without-gossip", "-n", f"{name}@%h"])

    def start_workers(self) -> None:
        for pool in WORKER_POOLS:
            self.start_worker(pool)

    def start_api(self, name: str = "api", port: str | None = None) -> None:
        """An API process (gunicorn, one worker of 32 threads) on ``port``."""
        self.start(name, [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
                          "-w", "1", "--threads", "32",
                          "-b", f"127.0.0.1:{port or self.env['API_PORT']}", "wsgi:app"])

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.log(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)


def start_stack(callback_delay_ms: int = 150, **extra_env: str) -> Stack:
    workdir = Path(tempfile.mkdtemp(prefix="escrow-test-"))
    ports = {name: str(services.free_port()) for name in
             ("API_PORT", "SANDBOX_PORT", "EMBEDDED_REDIS_PORT", "EMBEDDED_MONGO_PORT")}
    env = {
        **ports,
        "APP_ENV": "test", "DATA_DIR": str(workdir), "PYTHONUNBUFFERED": "1",
        "REDIS_URL": f"redis://127.0.0.1:{ports['EMBEDDED_REDIS_PORT']}/0",
        "MONGO_URL": f"mongodb://127.0.0.1:{ports['EMBEDDED_MONGO_PORT']}",
        "MONGO_DB": "escrow_test",
        "MPESA_BASE_URL": f"http://127.0.0.1:{ports['SANDBOX_PORT']}",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['API_PORT']}",
        "MPESA_CALLBACK_TOKEN": "test-callback-token-" + os.urandom(6).hex(),
        "JWT_SECRET_KEY": os.urandom(32).hex(),
        "SOCKETIO_CHANNEL": "escrow-test-" + os.urandom(4).hex(),
        "SANDBOX_CALLBACK_DELAY_MS": str(callback_delay_ms),
        "PAYOUT_STATUS_AFTER_S": "2", "PAYOUT_REQUEUE_AFTER_S": "60",
        "FEE_RATE_BPS": "250",  # 2.5 %, so that every ending shows the fee
        # Short reconciliation, for tests; the janitor runs only when a test sends its task.
        "STK_QUERY_DELAYS_S": "1,1,2", "CALLBACK_MATCH_WINDOW_S": "10",
        "RATELIMIT_AUTH": "1000/minute", "RATELIMIT_DEFAULT": "10000/minute",
        "LOG_LEVEL": "INFO",
        # argon2id with the least work: the suite signs in thousands of times on two cores
        # (the default costs 0.15 s of CPU a hash); production refuses it.
        "ARGON2_PROFILE": "test",
    }
    env.update(extra_env)
    stack = Stack(workdir, env)
    (workdir / "mongo").mkdir()
    env.update(services.sandbox_keys(workdir))
    try:
        stack.start("redis", services.redis_command(int(ports["EMBEDDED_REDIS_PORT"]), workdir))
        stack.start("mongo", services.mongo_command(int(ports["EMBEDDED_MONGO_PORT"]), workdir))
        stack.start("sandbox", [sys.executable, "-m", "sandbox", "--host", "127.0.0.1",
                                "--port", ports["SANDBOX_PORT"]])
        services.wait_for_port(int(ports["EMBEDDED_REDIS_PORT"]))
        services.wait_for_port(int(ports["EMBEDDED_MONGO_PORT"]))
        stack.start_api()
        stack.start_workers()
        services.wait_for_http(f"{stack.api}/api/health", timeout=60)
        services.wait_for_http(f"{stack.sandbox}/sandbox/health", timeout=60)
    except Exception:
        logs = "\n".join(f"--- {n}\n{stack.tail(n)}" for n in stack.processes)
        stack.close()
        raise RuntimeError(f"the test stack did not start:\n{logs}") from None
    return stack
