"""Fixtures of the integration tests (the session's running ``stack`` comes from tests/)."""

from __future__ import annotations

import uuid

import pytest
from pymongo.database import Database

from adapters.mongo.client import ensure_indexes
from tests.helpers import database
from tests.stack import Stack


@pytest.fixture
def db(stack: Stack) -> Database:
    """A fresh database on the Mongo-wire server, with every index, for one test."""
    fresh = database(stack).client[f"repo_{uuid.uuid4().hex[:8]}"]
    ensure_indexes(fresh)
    return fresh
