"""argon2id hashes: which ones the hasher wants to replace at the next sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher

from adapters.security import Argon2Hasher

PASSWORD = "correct horse battery"


def test_a_hash_of_older_parameters_verifies_and_asks_to_be_replaced() -> None:
    hasher = Argon2Hasher()
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    assert hasher.verify(old, PASSWORD) and hasher.needs_rehash(old)
    current = hasher.hash(PASSWORD)
    assert hasher.verify(current, PASSWORD) and not hasher.needs_rehash(current)


def test_something_that_is_not_an_argon2_hash_is_not_rehashed_nor_verified() -> None:
    hasher = Argon2Hasher()
    assert not hasher.needs_rehash("") and not hasher.needs_rehash("plain text")
    assert not hasher.verify("plain text", PASSWORD)


def test_the_test_profile_is_argon2id_with_the_least_work_and_the_default_replaces_it() -> None:
    cheap, default = Argon2Hasher("test"), Argon2Hasher()
    made = cheap.hash(PASSWORD)
    assert made.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert cheap.verify(made, PASSWORD) and not cheap.needs_rehash(made)
    assert default.verify(made, PASSWORD) and default.needs_rehash(made)  # upgraded in production
