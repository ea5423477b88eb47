"""Where nx-27017 differs from MongoDB, and the forms we use that are right on both.

The "differs" tests ask the server which it is (tests/helpers.py, server_kind) and assert what
that server does: nx-27017's gap on nx-27017 (they fail the day nx-27017 fixes it, which is when
docs/mongo-compat.md should be updated), MongoDB's documented behaviour on MongoDB (with
MONGO_URL given to `make test`). The others assert the same on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from tests.helpers import MONGODB, NX_27017, database, server_kind
from tests.stack import Stack

WHEN = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)


@pytest.fixture
def scratch(stack: Stack) -> Iterator[Collection[dict[str, Any]]]:
    collection = database(stack)[f"compat_{uuid.uuid4().hex[:8]}"]
    yield collection
    collection.drop()


@pytest.fixture
def server(scratch: Collection) -> str:
    return server_kind(scratch.database)


def test_set_of_a_top_level_datetime_differs_on_nx(scratch: Collection, server: str) -> None:
    # MongoDB keeps a BSON date; nx-27017 stores the text "2026-01-02 03:04:05.123000".
    scratch.insert_one({"_id": 1, "at": WHEN})
    scratch.update_one({"_id": 1}, {"$set": {"at": WHEN}})
    stored = scratch.find_one({"_id": 1})["at"]
    before_2027 = scratch.count_documents({"at": {"$lt": datetime(2027, 1, 1, tzinfo=UTC)}})
    if server == NX_27017:
        assert (stored, before_2027) == ("2026-01-02 03:04:05.123000", 0)
    else:
        assert server == MONGODB
        assert (stored, before_2027) == (WHEN, 1)


def test_a_whole_document_replace_keeps_datetimes_on_both(scratch: Collection) -> None:
    scratch.insert_one({"_id": 1, "at": WHEN, "version": 1})
    replaced = scratch.find_one_and_replace({"_id": 1, "version": 1},
                                            {"at": WHEN, "version": 2, "sub": {"at": WHEN}})
    assert replaced is not None
    stored = scratch.find_one({"_id": 1})
    assert stored["at"] == WHEN and stored["sub"]["at"] == WHEN and stored["version"] == 2
    assert scratch.find_one_and_replace({"_id": 1, "version": 1}, {"version": 3}) is None


def test_set_of_a_whole_subdocument_keeps_its_datetimes_on_both(scratch: Collection) -> None:
    scratch.insert_one({"_id": 1})
    scratch.update_one({"_id": 1}, {"$set": {"processed": {"at": WHEN, "outcome": "x"}}})
    assert scratch.find_one({"_id": 1})["processed"]["at"] == WHEN


def test_grouping_on_a_path_into_an_unwound_array_differs_on_nx(
    scratch: Collection, server: str,
) -> None:
    scratch.insert_many([
        {"lines": [{"account": "a", "amount": 5}, {"account": "b", "amount": -5}]},
        {"lines": [{"account": "a", "amount": -2}, {"account": "c", "amount": 2}]},
    ])
    direct = list(scratch.aggregate([
        {"$unwind": "$lines"},
        {"$group": {"_id": "$lines.account", "total": {"$sum": "$lines.amount"}}},
    ]))
    # MongoDB: one row per account. nx-27017: a single row with _id None (total 0 or None).
    if server == NX_27017:
        assert len(direct) == 1 and direct[0]["_id"] is None
    else:
        assert server == MONGODB
        assert {row["_id"]: row["total"] for row in direct} == {"a": 3, "b": -5, "c": 2}
    projected = scratch.aggregate([
        {"$unwind": "$lines"},
        {"$project": {"account": "$lines.account", "amount": "$lines.amount"}},
        {"$group": {"_id": "$account", "total": {"$sum": "$amount"}}},
    ])
    assert {row["_id"]: row["total"] for row in projected} == {"a": 3, "b": -5, "c": 2}


def test_partial_unique_index_on_a_string_field_allows_many_absent(scratch: Collection) -> None:
    scratch.create_index("slot", unique=True, partialFilterExpression={"slot": {"$type": "string"}})
    scratch.insert_many([{"n": 1}, {"n": 2}, {"slot": "deal-1"}])
    with pytest.raises(DuplicateKeyError):
        scratch.insert_one({"slot": "deal-1"})
    assert scratch.count_documents({}) == 3
