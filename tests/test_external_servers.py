"""`make test` on servers the user gives it (MONGO_URL, REDIS_URL): a stack on them starts no
Redis and no Mongo-wire server of its own, works, and when it closes leaves nothing of its own
there and nothing of anyone else's touched. Here the "user's" servers are an embedded Redis and
nx-27017 this test starts itself, so that this runs in every plain `make test`."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from pymongo import MongoClient

from devstack import services
from tests.helpers import NX_27017, register, server_kind
from tests.stack import (
    ROOT,
    ExternalServersRefused,
    RedisDatabases,
    redis_base_db,
    start_stack,
)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """A Redis and an nx-27017 that stand for the user's: started here, not by any stack."""
    workdir = Path(tempfile.mkdtemp(prefix="escrow-external-"))
    (workdir / "mongo").mkdir()
    redis_port, mongo_port = services.free_port(), services.free_port()
    running = [services.spawn(services.redis_command(redis_port, workdir),
                              log=workdir / "redis.log"),
               services.spawn(services.mongo_command(mongo_port, workdir),
                              log=workdir / "mongo.log")]
    try:
        services.wait_for_port(redis_port)
        services.wait_for_port(mongo_port)
        yield {"redis": f"redis://127.0.0.1:{redis_port}", "mongo":
               f"mongodb://127.0.0.1:{mongo_port}"}
    finally:
        for process in running:
            services.stop(process)


def test_a_stack_on_given_servers_starts_none_uses_its_own_databases_and_leaves_nothing(
    servers: dict[str, str],
) -> None:
    mongo: MongoClient[dict[str, Any]] = MongoClient(servers["mongo"], tz_aware=True)
    theirs = redis.Redis.from_url(f"{servers['redis']}/4")  # not handed over
    handed = redis.Redis.from_url(f"{servers['redis']}/5")
    theirs.set("someone-else", "1")
    handed.set("left-by-a-run-that-died", "1")
    mongo["someone_else"]["things"].insert_one({"kept": True})
    databases = RedisDatabases(f"{servers['redis']}/5")

    stack = start_stack(mongo_url=servers["mongo"], redis=databases)
    try:
        assert not {"redis", "mongo"} & set(stack.processes), list(stack.processes)
        assert not stack.embedded
        assert stack.env["MONGO_URL"] == servers["mongo"]
        assert stack.env["REDIS_URL"] == f"{servers['redis']}/5"
        assert handed.get("left-by-a-run-that-died") is None  # flushed when the stack took it
        ready = requests.get(f"{stack.api}/api/ready", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["data"]["checks"] == {"mongo": "ok", "redis": "ok", "broker": "ok"}
        register(stack, "buyer")  # writes the stack's database and its Redis (the limiter)
        name = stack.env["MONGO_DB"]
        assert name.startswith("escrow_test_") and mongo[name]["users"].count_documents({}) == 1
        assert handed.dbsize() > 0 and theirs.dbsize() == 1  # the stack's keys are in its db
        mongo[stack.scratch_db("extra")]["t"].insert_one({"n": 1})
        assert server_kind(mongo[name]) == NX_27017
        # A second stack alive at once takes the next database, never this one's.
        assert databases.take() == f"{servers['redis']}/6"
        databases.give_back(f"{servers['redis']}/6")
    finally:
        stack.close()

    assert handed.dbsize() == 0
    assert theirs.get("someone-else") == b"1"
    left = [db for db in mongo.list_database_names() if db.startswith(name)]
    assert left == []
    assert mongo["someone_else"]["things"].count_documents({"kept": True}) == 1
    assert databases.take() == f"{servers['redis']}/5"  # given back


@pytest.mark.parametrize(("url", "flush_ok", "expected"), [
    ("redis://cache:6379/12", False, 12),
    ("rediss://:secret@cache:6380/3", False, 3),
    ("redis://cache:6379/0", True, 0),
    ("redis://cache:6379/0", False, "database 0"),
    ("redis://cache:6379", False, "must name the Redis database"),
    ("redis://cache:6379/", False, "must name the Redis database"),
    ("unix:///run/redis.sock", False, "redis:// or rediss://"),
])
def test_the_redis_database_handed_over_must_be_named_and_db_0_needs_a_yes(
    url: str, flush_ok: bool, expected: int | str,
) -> None:
    if isinstance(expected, int):
        assert redis_base_db(url, flush_ok) == expected
    else:
        with pytest.raises(ExternalServersRefused, match=expected):
            redis_base_db(url, flush_ok)


def test_make_test_with_redis_db_0_stops_in_one_line_before_any_test() -> None:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0"}
    env.pop("TEST_REDIS_FLUSH_OK", None)
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", "tests/test_requirements.py"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == pytest.ExitCode.USAGE_ERROR, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "REDIS_URL names database 0" in lines[0], done.stderr


def test_the_users_urls_are_read_once_and_taken_out_of_the_environment() -> None:
    probe = ("import os, tests.stack as s; "
             "print(s.EXTERNAL_MONGO_URL, s.EXTERNAL_REDIS_URL, os.environ.get('MONGO_URL'), "
             "os.environ.get('REDIS_URL'))")
    env = {**os.environ, "MONGO_URL": "mongodb://db:27017/?replicaSet=rs0",
           "REDIS_URL": "redis://cache:6379/12"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.split() == ["mongodb://db:27017/?replicaSet=rs0",
                                   "redis://cache:6379/12", "None", "None"]


def test_a_database_beyond_the_one_handed_over_is_used_only_if_empty_or_the_suites(
    servers: dict[str, str],
) -> None:
    """REDIS_URL names one database; the stacks that overlap take the next ones, which the user
    did not name: one holding anyone else's keys is refused and left as it was, one an earlier
    run of the suite left (its mark) is flushed and used."""
    databases = RedisDatabases(f"{servers['redis']}/8")
    handed = redis.Redis.from_url(f"{servers['redis']}/8")
    theirs = redis.Redis.from_url(f"{servers['redis']}/9")
    left = redis.Redis.from_url(f"{servers['redis']}/10")
    handed.set("anything", "1")
    theirs.set("someone-else", "1")
    first = databases.take()
    try:
        assert first == f"{servers['redis']}/8" and handed.get("anything") is None
        with pytest.raises(ExternalServersRefused, match="database 9 holds keys"):
            databases.take()
        assert theirs.get("someone-else") == b"1" and theirs.dbsize() == 1

        theirs.delete("someone-else")
        second = databases.take()  # empty now: taken, and marked as the suite's
        databases.taken.discard(9)  # as if the run that took it died without giving it back
        redis.Redis.from_url(second).set("a-dead-runs-key", "1")
        assert databases.take() == second and theirs.get("a-dead-runs-key") is None
        databases.give_back(second)
        assert theirs.dbsize() == 0
        left.set("someone-elses-too", "1")
        assert databases.take() == second
        with pytest.raises(ExternalServersRefused, match="database 10 holds keys"):
            databases.take()
        assert left.get("someone-elses-too") == b"1"
        databases.give_back(second)
    finally:
        databases.give_back(first)
        left.flushdb()
