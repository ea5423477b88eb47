"""Reading the audit trail stays cheap however long it grows: each filter has an index, and
the total is counted up to a cap, never over the whole collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from adapters.mongo.audit import MAX_TOTAL, MongoAudit
from domain.audit import ANONYMOUS, AuditOutcome, AuditQuery, AuditRecord

START = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


def _record(n: int, action: str) -> AuditRecord:
    return AuditRecord(id=f"r{n:03d}", at=START + timedelta(seconds=n), actor=ANONYMOUS,
                       action=action, method="GET", path="/api/wallet", object_id=None,
                       ip="198.51.100.7", user_agent="t", outcome=AuditOutcome.REFUSED,
                       status=401, error_code="UNAUTHORIZED", request_id=f"q{n}")


def test_each_filter_of_the_trail_has_an_index(db: Database) -> None:
    # (field names only: the embedded Mongo-wire server reports every direction as 1)
    keys = {tuple(name for name, _ in info["key"])
            for info in db.audit.index_information().values()}
    assert {("at",), ("actorId", "at"), ("outcome", "at"), ("action", "at")} <= keys, keys


def test_the_total_is_counted_up_to_a_cap(db: Database) -> None:
    trail = MongoAudit(db, max_total=5)
    for n in range(8):
        trail.insert(_record(n, "wallet.Wallet"))
    for n in range(8, 10):
        trail.insert(_record(n, "admin.Callbacks"))
    items, total = trail.find(AuditQuery(action="wallet.Wallet", limit=3))
    assert total == 5  # at least five: the count stopped there
    assert [r.id for r in items] == ["r007", "r006", "r005"]  # newest first
    items, total = trail.find(AuditQuery(action="admin.Callbacks", limit=3))
    assert (total, [r.id for r in items]) == (2, ["r009", "r008"])  # under the cap: exact
    items, total = trail.find(AuditQuery(action="wallet.Wallet", limit=3, page=3))
    assert (total, [r.id for r in items]) == (5, ["r001", "r000"])  # pages go past the cap
    assert MAX_TOTAL == 10_000
