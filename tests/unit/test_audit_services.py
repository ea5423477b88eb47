"""The audit trail's rules: what counts as a refusal, what is kept of a request, who reads it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from domain.audit import ANONYMOUS, AuditOutcome, AuditQuery, AuditRecord, clipped, outcome_of
from domain.errors import Forbidden
from domain.services import audit
from tests.unit.fakes import START
from tests.unit.world import World


class FakeAuditLog:
    def __init__(self) -> None:
        self.records: list[AuditRecord] = []

    def insert(self, record: AuditRecord) -> None:
        self.records.append(record)

    def find(self, query: AuditQuery) -> tuple[Sequence[AuditRecord], int]:
        found = [r for r in reversed(self.records)
                 if query.outcome in (None, r.outcome) and query.actor_id in (None, r.actor.id)]
        start = (query.page - 1) * query.limit
        return found[start:start + query.limit], len(found)


RECORD = AuditRecord(id="a1", at=START, actor=ANONYMOUS, action="wallet.Wallet", method="GET",
                     path="/api/wallet", object_id=None, ip="127.0.0.1", user_agent="curl",
                     outcome=AuditOutcome.REFUSED, status=401, error_code="UNAUTHORIZED",
                     request_id="r1")


@pytest.mark.parametrize(("status", "wrong_token", "expected"), [
    (200, False, AuditOutcome.ALLOWED), (202, False, AuditOutcome.ALLOWED),
    (401, False, AuditOutcome.REFUSED), (403, False, AuditOutcome.REFUSED),
    (404, True, AuditOutcome.REFUSED), (404, False, AuditOutcome.FAILED),
    (409, False, AuditOutcome.FAILED), (503, False, AuditOutcome.FAILED),
])
def test_401_403_and_a_wrong_callback_token_are_refusals(
    status: int, wrong_token: bool, expected: AuditOutcome,
) -> None:
    assert outcome_of(status, wrong_token) is expected


def test_text_copied_from_a_request_is_printable_and_bounded() -> None:
    assert clipped("Mozilla/5.0\n\x00" + "x" * 300, 200) == "Mozilla/5.0" + "x" * 189
    assert clipped(None) == ""


def test_only_admins_read_the_audit_trail_newest_first() -> None:
    world, log = World.build(), FakeAuditLog()
    log.insert(RECORD)
    log.insert(dataclasses.replace(RECORD, id="a2", status=403))
    with pytest.raises(Forbidden):
        audit.audit_trail(log, world.buyer, AuditQuery())
    items, total = audit.audit_trail(log, world.admin(), AuditQuery(limit=1))
    assert total == 2 and [r.id for r in items] == ["a2"]
