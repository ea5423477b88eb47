"""The real clock and id factory."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from bson import ObjectId

REFERENCE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


class SystemClock:
    def now(self) -> datetime:
        # Millisecond precision: what BSON dates keep, so a value reads back equal.
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ObjectIdFactory:
    def new_id(self) -> str:
        return str(ObjectId())

    def new_reference(self) -> str:
        """26 random characters of 36 (134 bits): any 9 of them, as an AccountReference keeps,
        still leave 36⁹ ≈ 10¹⁴ values."""
        return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(26))
