"""Password hashing with argon2id: argon2-cffi's defaults (RFC 9106's low-memory profile,
64 MiB and 3 passes: about 0.15 s of CPU a hash here) everywhere but in tests."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

PROFILES = ("default", "test")
# The test suite signs in thousands of times on two cores: argon2id still, with the least
# work (1 MiB, one pass). Settings refuse it in production; the default rehashes it at login.


class Argon2Hasher:
    def __init__(self, profile: str = "default") -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown argon2 profile {profile!r}")
        self._ph = (PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
                    if profile == "test" else PasswordHasher())
        self._dummy = self._ph.hash("a password nobody has")

    def hash(self, password: str) -> str:
        return self._ph.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._ph.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, password: str) -> None:
        self.verify(self._dummy, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return self._ph.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return False  # not an argon2 hash we can read: verification failed anyway
