"""Fixtures of the integration tests (the session's running ``stack`` comes from tests/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymongo.database import Database

from adapters.mongo.client import ensure_indexes
from tests.helpers import database
from tests.stack import Stack


@pytest.fixture
def db(stack: Stack) -> Iterator[Database]:
    """A fresh database on the stack's MongoDB server, with every index, for one test; dropped
    after it (on a user's real server nothing of the suite's stays)."""
    client = database(stack).client
    fresh = client[stack.scratch_db("repo")]
    ensure_indexes(fresh)
    yield fresh
    client.drop_database(fresh.name)
