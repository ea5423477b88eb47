"""The user cache on the real Redis and Mongo-wire server: hits skip MongoDB, and no stale copy
can follow a write, even from a reader that raced it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import redis
from pymongo.database import Database

from adapters.cached_users import CachedUsers
from adapters.mongo.users import MongoUsers
from domain.users import Role, User
from tests.stack import Stack


class CountingUsers(MongoUsers):
    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads = 0

    def get(self, user_id: str) -> User | None:
        self.reads += 1
        return super().get(user_id)


@pytest.fixture
def stored(db: Database) -> CountingUsers:
    return CountingUsers(db)


@pytest.fixture
def cache(stack: Stack, stored: CountingUsers, db: Database) -> CachedUsers:
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    return CachedUsers(stored, client, prefix=f"{db.name}:user:")


def _user(name: str = "Ann") -> User:
    now = datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=UTC)
    return User(id=f"u-{name}", email=f"{name.lower()}@example.com", password_hash="$argon2id$x",
                first_name=name, last_name="Buyer", role=Role.BUYER, created_at=now,
                updated_at=now, phone="254708374149")


def test_a_second_read_comes_from_the_cache_whole(cache: CachedUsers,
                                                 stored: CountingUsers) -> None:
    user = _user()
    cache.add(user)
    assert cache.get(user.id) == user
    assert cache.get(user.id) == user  # equal in every field, datetimes with their zone
    assert stored.reads == 1


def test_a_read_after_a_write_sees_the_write(cache: CachedUsers) -> None:
    user = _user()
    cache.add(user)
    cache.get(user.id)
    renamed = dataclasses.replace(user, first_name="Anne")
    cache.save(renamed)
    assert cache.get(user.id) == renamed


def test_a_reader_that_raced_a_write_cannot_leave_a_stale_copy(cache: CachedUsers) -> None:
    """The reader misses and reads the old document; the writer writes and bumps; then the
    reader files what it read. Every later read must see the write."""
    user = _user()
    cache.add(user)
    generation, copy = cache.cached(user.id)  # the reader's lookup: a miss
    assert copy is None and generation is not None
    old = user  # what the reader got from MongoDB, before the write
    renamed = dataclasses.replace(user, first_name="Anne")
    cache.save(renamed)  # the writer, in between
    cache.fill(old, generation)  # the reader, late
    assert cache.get(user.id) == renamed


def test_with_redis_unreachable_reads_go_to_mongodb(stored: CountingUsers) -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2,
                              decode_responses=True)
    cache = CachedUsers(stored, unreachable)
    user = _user("Bob")
    cache.add(user)
    assert cache.get(user.id) == user
    cache.save(dataclasses.replace(user, last_name="Seller"))  # the write still lands
    assert cache.get(user.id).last_name == "Seller"  # type: ignore[union-attr]
