"""The audit trail: who did, or was refused, what, when and from where. Appended, never edited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_USER_AGENT = 200  # characters kept of a User-Agent header
MAX_FIELD = 200  # any other free text we copy from a request (a path, an action)


class AuditOutcome(StrEnum):
    ATTEMPTED = "attempted"  # written before an admin's write runs: the action is on record first
    ALLOWED = "allowed"  # answered 1xx-3xx
    REFUSED = "refused"  # 401, 403, or a callback with a wrong path token
    FAILED = "failed"  # let in, then answered 4xx/5xx for another reason (a 409, a 422, a 503)


@dataclass(frozen=True)
class Actor:
    id: str | None  # None: no valid token came with the request
    role: str  # "buyer", "seller", "admin", or "anonymous"


ANONYMOUS = Actor(None, "anonymous")


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: datetime  # UTC
    actor: Actor
    action: str  # the endpoint's name, e.g. "transaction-lifecycle.Resolve"
    method: str
    path: str  # the route's template (``/api/transactions/<deal_id>/resolve``), never a token
    object_id: str | None  # the deal, payment, withdrawal or notification id in the path
    ip: str | None
    user_agent: str
    outcome: AuditOutcome
    status: int | None  # None for an ``attempted`` record: the answer is not known yet
    error_code: str | None
    request_id: str | None


@dataclass(frozen=True)
class AuditQuery:
    actor_id: str | None = None
    outcome: AuditOutcome | None = None
    action: str | None = None
    page: int = 1
    limit: int = 20


def outcome_of(status: int, refused_by_token: bool = False) -> AuditOutcome:
    """How an answer counts: 401/403 (and a wrong callback token) are refusals."""
    if status in (401, 403) or refused_by_token:
        return AuditOutcome.REFUSED
    return AuditOutcome.ALLOWED if status < 400 else AuditOutcome.FAILED


def clipped(text: str | None, limit: int = MAX_FIELD) -> str:
    """Printable characters only, at most ``limit`` of them."""
    return "".join(c for c in (text or "") if c.isprintable())[:limit]
