"""Identities read through a Redis cache: every signed-in request needs its user, who rarely
changes. Only ``identity`` reads the cache; ``get`` and every other use case's read go to
MongoDB, so nothing is ever written back from a cached copy, and the copy carries no password
hash (an identity's ``password_hash`` is empty: a password check against it fails).

Each user has a generation counter in Redis, bumped after every write to MongoDB, and the
cached copy is stored under the generation it was read at. A reader that raced a writer
(read the old document, then the writer wrote and bumped) files its copy under the old
generation, which nobody asks for any more: a stale read can never follow a completed write.
Copies expire after ``ttl_s`` whatever happens, which bounds the one window left, a write
whose bump failed because Redis was unreachable. With Redis unreachable reads go to MongoDB.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC

import redis
from bson import json_util
from bson.json_util import JSONOptions

from adapters.mongo.users import MongoUsers, from_doc, to_doc
from domain.users import User

log = logging.getLogger(__name__)

# One round trip for a hit: the current generation and the copy filed under it.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', KEYS[2] .. generation)}
"""


class CachedUsers:
    def __init__(self, users: MongoUsers, client: redis.Redis, ttl_s: int = 60,
                 prefix: str = "user:") -> None:
        self._users = users
        self._r = client
        self._ttl_s = ttl_s
        self._prefix = prefix
        self._lookup = client.register_script(_LOOKUP)

    def _keys(self, user_id: str) -> tuple[str, str]:
        base = f"{self._prefix}{{{user_id}}}"  # one hash slot per user, should it be a cluster
        return f"{base}:gen", f"{base}:v:"

    def get(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def identity(self, user_id: str) -> User | None:
        """Who a signed-in request comes from: at most ``ttl_s`` old after a write made outside
        this class (by hand in MongoDB), never after one made through it."""
        generation, copy = self.cached(user_id)
        if copy is not None:
            try:
                return _decode(copy)
            except (KeyError, ValueError, TypeError):  # a copy from an older shape of User
                log.warning("user cache copy unreadable, reading MongoDB")
        user = self._users.get(user_id)
        if user is None:
            return None
        if generation is not None:
            self.fill(user, generation)
        return dataclasses.replace(user, password_hash="")  # the same, cached or not

    def cached(self, user_id: str) -> tuple[str | None, str | None]:
        """The current generation and the copy filed under it (None, None: Redis unreachable)."""
        try:
            generation, copy = self._lookup(keys=self._keys(user_id))
        except redis.RedisError as error:
            log.warning("user cache unreachable, reading MongoDB", extra={"error": str(error)})
            return None, None
        return str(generation), copy

    def fill(self, user: User, generation: str) -> None:
        """File ``user`` as read at ``generation`` (a reader that raced a write files it where
        nobody looks)."""
        _, versions = self._keys(user.id)
        try:
            self._r.set(versions + generation, _encode(user), ex=self._ttl_s)
        except redis.RedisError:
            pass  # the next read fills it

    def by_email(self, email: str) -> User | None:
        return self._users.by_email(email)

    def add(self, user: User) -> None:
        self._users.add(user)

    def update(self, before: User, after: User) -> bool:
        written = self._users.update(before, after)
        self._invalidate(before.id)
        return written

    def _invalidate(self, user_id: str) -> None:
        generation, _ = self._keys(user_id)
        try:  # outlives every copy, so a generation never comes back while one is kept
            bump = self._r.pipeline()
            bump.incr(generation)
            bump.expire(generation, max(self._ttl_s * 10, 3600))
            bump.execute()
        except redis.RedisError as error:  # the old copy lives at most ttl_s more
            log.error("user cache not invalidated", extra={"user": user_id, "error": str(error)})


_JSON = JSONOptions(tz_aware=True, tzinfo=UTC)


def _encode(user: User) -> str:
    doc = to_doc(user)
    doc["passwordHash"] = ""  # never kept outside MongoDB
    return json_util.dumps(doc, json_options=_JSON)


def _decode(copy: str) -> User:
    user = from_doc(json_util.loads(copy, json_options=_JSON))
    assert user is not None
    return user
