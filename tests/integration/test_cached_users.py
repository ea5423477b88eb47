"""The identity cache on the real Redis and Mongo-wire server: hits skip MongoDB, no stale copy
can follow a write, even from a reader that raced it, and no password hash is kept in Redis."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
import redis
from pymongo.database import Database

from adapters.cached_users import CachedUsers
from adapters.mongo.users import MongoUsers
from adapters.redis_store import client_options
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
    bare = dataclasses.replace(user, password_hash="")  # an identity never carries the hash
    assert cache.identity(user.id) == bare
    assert cache.identity(user.id) == bare  # equal in every field, datetimes with their zone
    assert stored.reads == 1
    assert cache.get(user.id) == user  # the use cases' read: MongoDB, whole
    assert stored.reads == 2


def test_a_read_after_a_write_sees_the_write(cache: CachedUsers) -> None:
    user = _user()
    cache.add(user)
    cache.identity(user.id)
    renamed = dataclasses.replace(user, first_name="Anne")
    assert cache.update(user, renamed)
    assert cache.identity(user.id) == dataclasses.replace(renamed, password_hash="")


def test_a_reader_that_raced_a_write_cannot_leave_a_stale_copy(cache: CachedUsers) -> None:
    """The reader misses and reads the old document; the writer writes and bumps; then the
    reader files what it read. Every later read must see the write."""
    user = _user()
    cache.add(user)
    generation, copy = cache.cached(user.id)  # the reader's lookup: a miss
    assert copy is None and generation is not None
    old = user  # what the reader got from MongoDB, before the write
    renamed = dataclasses.replace(user, first_name="Anne")
    assert cache.update(user, renamed)  # the writer, in between
    cache.fill(old, generation)  # the reader, late
    assert cache.identity(user.id).first_name == "Anne"  # type: ignore[union-attr]


def test_with_redis_unreachable_reads_go_to_mongodb(stored: CountingUsers) -> None:
    # With the options every client of ours has (not redis-py's ten retries with backoff).
    unreachable = redis.Redis(host="127.0.0.1", port=1, decode_responses=True,
                              **client_options(0.2))
    cache = CachedUsers(stored, unreachable)
    user = _user("Bob")
    cache.add(user)
    assert cache.identity(user.id) == dataclasses.replace(user, password_hash="")
    assert cache.update(user, dataclasses.replace(user, last_name="Seller"))  # it still lands
    assert cache.identity(user.id).last_name == "Seller"  # type: ignore[union-attr]


def test_no_password_hash_reaches_redis_and_an_unreadable_copy_is_read_again(
    cache: CachedUsers, stack: Stack, db: Database,
) -> None:
    user = _user("Cy")
    cache.add(user)
    cache.identity(user.id)
    client = redis.Redis.from_url(stack.env["REDIS_URL"], decode_responses=True)
    keys = client.keys(f"{db.name}:user:*:v:*")
    assert keys and all(user.password_hash not in (client.get(k) or "") for k in keys)
    for key in keys:
        client.set(key, '{"an older shape": true}', ex=60)
    assert cache.identity(user.id) == dataclasses.replace(user, password_hash="")  # not a 500


def test_an_update_writes_only_what_it_changed_and_a_hash_only_over_the_one_it_read(
    stored: CountingUsers,
) -> None:
    """On the Mongo-wire server: two edits of different fields both land; a new hash decided on
    an old one is not written (the password changed meanwhile)."""
    user = _user("Carol")
    stored.add(user)
    new_hash = dataclasses.replace(user, password_hash="$argon2id$new")
    renamed = dataclasses.replace(user, first_name="Caroline")  # read before the hash change
    assert stored.update(user, new_hash)
    assert stored.update(user, renamed)
    assert stored.get(user.id) == dataclasses.replace(new_hash, first_name="Caroline")
    assert not stored.update(user, dataclasses.replace(user, password_hash="$argon2id$late"))
    assert stored.get(user.id).password_hash == "$argon2id$new"  # type: ignore[union-attr]
    gone = dataclasses.replace(user, id="no-such-user")
    assert not stored.update(gone, dataclasses.replace(gone, first_name="X"))
