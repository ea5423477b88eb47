"""The real clock and id factory."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from bson import ObjectId


class SystemClock:
    def now(self) -> datetime:
        # Millisecond precision: what BSON dates keep, so a value reads back equal.
        now = datetime.now(UTC)
        return now.replace(microsecond=now.microsecond // 1000 * 1000)


class ObjectIdFactory:
    def new_id(self) -> str:
        return str(ObjectId())

    def new_reference(self) -> str:
        return secrets.token_hex(16)  # 128 random bits, alphanumeric
