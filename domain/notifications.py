"""What a person is told, kept so they can read it later (Socket.IO delivery is at most once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Notification:
    id: str  # "<user id>:<event key>": the same event never notifies a person twice
    user_id: str
    kind: str  # "deal_created", "deal_funded", "payout_succeeded", …
    message: str
    created_at: datetime
    deal_id: str | None = None
    payout_id: str | None = None
    read: bool = False
