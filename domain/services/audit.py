"""Reading the audit trail: admins only (writing it is the API's hook, on every request)."""

from __future__ import annotations

from collections.abc import Sequence

from domain.audit import AuditQuery, AuditRecord
from domain.errors import Forbidden
from domain.ports import AuditLog
from domain.users import User


def audit_trail(log: AuditLog, user: User,
                query: AuditQuery) -> tuple[Sequence[AuditRecord], int]:
    """Audit records, newest first, optionally by actor, outcome or action."""
    if not user.is_admin:
        raise Forbidden("only admins read the audit trail")
    return log.find(query)
