"""Fixtures shared by integration and end-to-end tests. Unit tests use none of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import ExternalServersRefused, Stack, check_external, start_stack


def pytest_configure(config: pytest.Config) -> None:
    """Servers given in MONGO_URL / REDIS_URL that the suite must not use stop the run here,
    in one line, before any test (tests/stack.py, docs/mongo-compat.md)."""
    try:
        check_external()
    except ExternalServersRefused as refused:
        raise pytest.UsageError(str(refused)) from None


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """One running system for the whole session, torn down at the end: on the user's servers
    when MONGO_URL / REDIS_URL are set, else on embedded ones it starts."""
    running = start_stack()
    before = _database_names(running)
    try:
        yield running
        # On a user's server, a database named any other way would outlive the run.
        strays = sorted(name for name in _database_names(running) - before
                        if not name.startswith(running.env["MONGO_DB"]))
        assert not strays, ("tests made databases that no stack drops; name them with "
                            f"stack.scratch_db(kind): {strays}")
    finally:
        running.close()


def _database_names(stack: Stack) -> set[str]:
    from pymongo import MongoClient

    client: MongoClient[dict[str, object]] = MongoClient(stack.env["MONGO_URL"],
                                                          serverSelectionTimeoutMS=10_000)
    try:
        return set(client.list_database_names())
    finally:
        client.close()


@pytest.fixture(scope="session")
def embedded_stack(stack: Stack) -> Iterator[Stack]:
    """A system whose Redis and Mongo-wire server are its own processes, for a test that
    freezes or stops one (fault injection on servers the test owns, never on a user's): the
    session's stack when it runs on embedded servers, else one started for them."""
    if stack.embedded:
        yield stack
        return
    running = start_stack(own_servers=True)
    try:
        yield running
    finally:
        running.close()
