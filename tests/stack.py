"""The whole system on free loopback ports: Redis, nx-27017, the sandbox, the API, a worker.

With ``MONGO_URL`` and/or ``REDIS_URL`` in the environment of ``make test``, every stack uses
those servers instead of starting its own (docs/mongo-compat.md, "Running the suite on real
servers"): its own MongoDB database ``escrow_test_<hex>`` (and ``escrow_test_<hex>_*`` for the
tests' scratch databases), dropped when it closes; a Redis database of those the user handed
over, flushed when the stack takes it and when it closes. A stack started with
``own_servers=True`` (fault injection on Redis or MongoDB) always starts embedded ones.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devstack import services

# The servers the user gave `make test`, read once: taken out of this process's environment so
# that nothing else in the session (a Settings.from_env, a subprocess) sees them by accident.
# Each stack hands its processes its own MONGO_URL / REDIS_URL through its env.
EXTERNAL_MONGO_URL = os.environ.pop("MONGO_URL", "") or None
EXTERNAL_REDIS_URL = os.environ.pop("REDIS_URL", "") or None
FLUSH_OK = os.environ.get("TEST_REDIS_FLUSH_OK") == "1"
# Stacks alive at once in one session: the session's stack and up to two of a module.
MAX_REDIS_DBS = 3


class ExternalServersRefused(ValueError):
    """The servers given cannot be used safely (one line, for pytest's usage error)."""


def redis_base_db(url: str, flush_ok: bool = FLUSH_OK) -> int:
    """The database number REDIS_URL names (the first the suite may flush), or a refusal: the
    suite flushes what it uses, so it must be named, and db 0 (every client's default, where
    other data most likely lives) only with TEST_REDIS_FLUSH_OK=1."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ExternalServersRefused(
            f"REDIS_URL must be redis:// or rediss://, not {parts.scheme or 'nothing'}://")
    path = parts.path.strip("/")
    if not path.isdigit():
        raise ExternalServersRefused(
            "REDIS_URL must name the Redis database the suite may flush, e.g. "
            "redis://host:6379/12 (it flushes that one and, while stacks overlap, the next "
            f"{MAX_REDIS_DBS - 1})")
    number = int(path)
    if number == 0 and not flush_ok:
        raise ExternalServersRefused(
            "REDIS_URL names database 0, which the suite would flush: name another "
            "(redis://host:6379/12), or set TEST_REDIS_FLUSH_OK=1 if db 0 is yours to flush")
    return number


def check_external() -> None:
    """Refuse, before any test runs, servers the suite must not use (pytest_configure)."""
    if EXTERNAL_REDIS_URL:
        redis_base_db(EXTERNAL_REDIS_URL)


class RedisDatabases:
    """The Redis databases handed over (REDIS_URL's and the next ones): each stack alive takes
    its own, so that no stack's Celery messages, rate-limit counters, revocations, token cache
    or locks reach another's workers or API, even while two stacks run at once."""

    def __init__(self, url: str, flush_ok: bool = FLUSH_OK, most: int = MAX_REDIS_DBS) -> None:
        self.url, self.base, self.most = url, redis_base_db(url, flush_ok), most
        self.taken: set[int] = set()

    def url_of(self, number: int) -> str:
        parts = urlsplit(self.url)
        return parts._replace(path=f"/{number}").geturl()

    def take(self) -> str:
        free = [n for n in range(self.base, self.base + self.most) if n not in self.taken]
        if not free:
            raise RuntimeError(f"more than {self.most} test stacks at once on {self.url}")
        number = free[0]
        url = self.url_of(number)
        with _redis(url) as client:
            # The database REDIS_URL names was handed over; the next ones were not: each is
            # used only when empty or left by a run of the suite (its mark), else refused as is.
            if number != self.base and client.dbsize() and not client.exists(SUITE_MARK):
                raise ExternalServersRefused(
                    f"Redis database {number} holds keys the suite did not write: besides "
                    f"REDIS_URL's database {self.base}, overlapping stacks use the next "
                    f"{self.most - 1}; empty {number}, or name a database whose next ones are")
            client.flushdb()  # what a run that died left there
            client.set(SUITE_MARK, "1")
        self.taken.add(number)
        return url

    def give_back(self, url: str) -> None:
        with _redis(url) as client:
            client.flushdb()
        self.taken.discard(int(urlsplit(url).path.strip("/")))


# Set in every Redis database a stack takes, until it gives it back.
SUITE_MARK = "escrow-test:taken-by-the-suite"


@contextmanager
def _redis(url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
    try:
        yield client
    finally:
        client.close()


_REDIS_DBS: RedisDatabases | None = None


def _redis_databases() -> RedisDatabases:
    global _REDIS_DBS
    if _REDIS_DBS is None:
        assert EXTERNAL_REDIS_URL
        _REDIS_DBS = RedisDatabases(EXTERNAL_REDIS_URL)
    return _REDIS_DBS


def drop_databases(mongo_url: str, name: str) -> list[str]:
    """Drop the stack's database ``name`` and every ``name_*`` (its tests' scratch ones)."""
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(mongo_url,
                                                          serverSelectionTimeoutMS=10_000)
    try:
        dropped = [db for db in client.list_database_names()
                   if db == name or db.startswith(name + "_")]
        for db in dropped:
            client.drop_database(db)
        return dropped
    finally:
        client.close()

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
    # What close() gives back: the user's MongoDB (drop the stack's databases) and Redis db.
    external_mongo: str | None = None
    external_redis: str | None = None
    redis_dbs: RedisDatabases | None = None  # where external_redis goes back to

    @property
    def embedded(self) -> bool:
        """Both servers are processes of this stack (which a test may stop, freeze, kill)."""
        return "redis" in self.processes and "mongo" in self.processes

    def scratch_db(self, kind: str) -> str:
        """A database name of its own for one test, dropped with the stack on real servers."""
        return f"{self.env['MONGO_DB']}_{kind}_{uuid.uuid4().hex[:8]}"

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

    def start_api(self, name: str = "api", port: str | None = None,
                  extra_env: dict[str, str] | None = None) -> None:
        """An API process (gunicorn, one worker of 32 threads) on ``port``."""
        self.start(name, [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"),
                          "-w", "1", "--threads", "32",
                          "-b", f"127.0.0.1:{port or self.env['API_PORT']}", "wsgi:app"],
                   extra_env)

    def start_extra_api(self, name: str, port: str | None = None, **extra_env: str) -> str:
        """One more API process beside the stack's (only gunicorn, not a whole stack) on
        ``port`` (a free one if None), with ``extra_env`` over the stack's env; its base URL
        once it answers. ``stop(name)`` ends it, and the same port starts it again."""
        port = port or str(services.free_port())
        self.start_api(name, port, extra_env)
        base = f"http://127.0.0.1:{port}"
        services.wait_for_http(f"{base}/api/health", timeout=60)
        return base

    def tail(self, name: str, lines: int = 60) -> str:
        path = self.log(name)
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        for name in reversed(list(self.processes)):
            self.stop(name)
        try:
            if self.external_mongo:
                drop_databases(self.external_mongo, self.env["MONGO_DB"])
        finally:
            if self.external_redis and self.redis_dbs:
                self.redis_dbs.give_back(self.external_redis)
                self.external_redis = None


def start_stack(callback_delay_ms: int = 150, own_servers: bool = False,
                mongo_url: str | None = EXTERNAL_MONGO_URL,
                redis: RedisDatabases | None = None, **extra_env: str) -> Stack:
    """A stack on the user's servers when given (MONGO_URL, REDIS_URL: ``mongo_url`` and
    ``redis``, for a test of this very code), else on embedded ones it starts; always embedded
    with ``own_servers`` (a test that stops, freezes or kills them)."""
    workdir = Path(tempfile.mkdtemp(prefix="escrow-test-"))
    ports = {name: str(services.free_port()) for name in
             ("API_PORT", "SANDBOX_PORT", "EMBEDDED_REDIS_PORT", "EMBEDDED_MONGO_PORT")}
    if own_servers:
        mongo_url, redis = None, None
    elif redis is None and EXTERNAL_REDIS_URL:
        redis = _redis_databases()
    redis_url = redis.take() if redis else None
    env = {
        **ports,
        "APP_ENV": "test", "DATA_DIR": str(workdir), "PYTHONUNBUFFERED": "1",
        "REDIS_URL": redis_url or f"redis://127.0.0.1:{ports['EMBEDDED_REDIS_PORT']}/0",
        "MONGO_URL": mongo_url or f"mongodb://127.0.0.1:{ports['EMBEDDED_MONGO_PORT']}",
        "MONGO_DB": f"escrow_test_{uuid.uuid4().hex[:8]}",
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
    stack = Stack(workdir, env, external_mongo=mongo_url, external_redis=redis_url,
                  redis_dbs=redis)
    (workdir / "mongo").mkdir()
    env.update(services.sandbox_keys(workdir))
    try:
        if not redis_url:
            stack.start("redis", services.redis_command(int(ports["EMBEDDED_REDIS_PORT"]),
                                                        workdir))
        if not mongo_url:
            stack.start("mongo", services.mongo_command(int(ports["EMBEDDED_MONGO_PORT"]),
                                                        workdir))
        stack.start("sandbox", [sys.executable, "-m", "sandbox", "--host", "127.0.0.1",
                                "--port", ports["SANDBOX_PORT"]])
        if not redis_url:
            services.wait_for_port(int(ports["EMBEDDED_REDIS_PORT"]))
        if not mongo_url:
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
