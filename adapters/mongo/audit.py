"""The ``audit`` collection: append-only. This repository can insert and find, nothing else."""

from __future__ import annotations

from collections.abc import Sequence

import pymongo
from pymongo import DESCENDING
from pymongo.database import Database

from adapters.mongo.client import Doc
from domain.audit import Actor, AuditOutcome, AuditQuery, AuditRecord

# The most records a listing counts: its ``total`` is exact below this, ``MAX_TOTAL`` (at least
# that many) above it. Counting a trail that grows without bound would cost each read more.
MAX_TOTAL = 10_000


class MongoAudit:
    def __init__(self, db: Database[Doc], max_total: int = MAX_TOTAL,
                 write_timeout_s: float | None = None) -> None:
        self._c = db["audit"]
        self._max_total = max_total
        self._write_timeout_s = write_timeout_s

    def insert(self, record: AuditRecord) -> None:
        if self._write_timeout_s is None:  # the client's own bound
            self._c.insert_one(_to_doc(record))
            return
        with pymongo.timeout(self._write_timeout_s):  # the smaller of this and the client's
            self._c.insert_one(_to_doc(record))

    def find(self, query: AuditQuery) -> tuple[Sequence[AuditRecord], int]:
        selector: Doc = {}
        if query.actor_id is not None:
            selector["actorId"] = query.actor_id
        if query.outcome is not None:
            selector["outcome"] = query.outcome.value
        if query.action is not None:
            selector["action"] = query.action
        total = self._c.count_documents(selector, limit=self._max_total)
        cursor = (self._c.find(selector).sort([("at", DESCENDING), ("_id", DESCENDING)])
                  .skip((query.page - 1) * query.limit).limit(query.limit))
        return [_from_doc(doc) for doc in cursor], total


def _to_doc(r: AuditRecord) -> Doc:
    return {"_id": r.id, "at": r.at, "actorId": r.actor.id, "actorRole": r.actor.role,
            "action": r.action, "method": r.method, "path": r.path, "objectId": r.object_id,
            "ip": r.ip, "userAgent": r.user_agent, "outcome": r.outcome.value,
            "status": r.status, "errorCode": r.error_code, "requestId": r.request_id}


def _from_doc(doc: Doc) -> AuditRecord:
    return AuditRecord(
        id=doc["_id"], at=doc["at"], actor=Actor(doc.get("actorId"), doc["actorRole"]),
        action=doc["action"], method=doc["method"], path=doc["path"],
        object_id=doc.get("objectId"), ip=doc.get("ip"), user_agent=doc.get("userAgent", ""),
        outcome=AuditOutcome(doc["outcome"]), status=doc.get("status"),
        error_code=doc.get("errorCode"), request_id=doc.get("requestId"))
