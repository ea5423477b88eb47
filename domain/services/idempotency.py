"""The one rule for replayed requests (payments and withdrawals alike)."""

from __future__ import annotations

from typing import Protocol, TypeVar

from domain.errors import IdempotencyMismatch


class Keyed(Protocol):
    @property
    def request_hash(self) -> str: ...


K = TypeVar("K", bound=Keyed)


def replay(earlier: K, request_hash: str) -> K:
    """The same Idempotency-Key with the same request gets the first result again; with
    another request it is refused."""
    if earlier.request_hash != request_hash:
        raise IdempotencyMismatch("this Idempotency-Key was used with a different request")
    return earlier
