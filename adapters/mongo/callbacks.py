"""Raw M-Pesa callbacks, stored as received before we answer 200."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.ports import InboxItem


@dataclass(frozen=True)
class Stored:
    item: InboxItem
    duplicate: bool


class MongoCallbacks:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["mpesa_callbacks"]

    def store(self, kind: str, raw: bytes, source_ip: str | None, now: datetime,
              refused: str | None = None) -> Stored:
        """Write the body once; the same body again is recorded as a repeat, not a new callback."""
        key = hashlib.sha256(kind.encode() + b"\0" + raw).hexdigest()
        text = raw.decode("utf-8", errors="replace")
        try:
            status = "flagged" if refused else "received"
            self._c.insert_one({
                "_id": key, "kind": kind, "raw": text, "sourceIp": source_ip, "receivedAt": now,
                "status": status, "repeats": 0,
                "processed": {"outcome": refused, "at": now} if refused else None,
            })
            return Stored(InboxItem(key, kind, text, now, status), duplicate=False)
        except DuplicateKeyError:
            doc = self._c.find_one_and_update(
                {"_id": key}, {"$inc": {"repeats": 1}, "$set": {"lastRepeat": {"at": now}}},
                return_document=ReturnDocument.AFTER,
            )
            assert doc is not None
            if refused is None and doc["status"] == "flagged" \
                    and (doc.get("processed") or {}).get("outcome") == "source_not_allowed":
                # Refused for its source before, allowed now: this delivery is the one we take.
                # Conditional, so two allowed deliveries at once flip it (and enqueue it) once.
                flipped = self._c.find_one_and_replace(
                    {"_id": key, "status": "flagged", "processed.outcome": "source_not_allowed"},
                    {**{k: v for k, v in doc.items() if k != "_id"}, "status": "received",
                     "sourceIp": source_ip, "receivedAt": now, "processed": None,
                     "refused": {"sourceIp": doc.get("sourceIp"), "at": doc["receivedAt"]}},
                    return_document=ReturnDocument.AFTER,
                )
                if flipped is not None:
                    return Stored(InboxItem(key, kind, text, now, "received"), duplicate=False)
            item = InboxItem(key, kind, text, doc["receivedAt"], doc["status"])
            return Stored(item, duplicate=True)

    def get(self, callback_id: str) -> InboxItem | None:
        doc = self._c.find_one({"_id": callback_id})
        if doc is None:
            return None
        return InboxItem(doc["_id"], doc["kind"], doc["raw"], doc["receivedAt"], doc["status"])

    def find(self, status: str | None, page: int, limit: int) -> tuple[list[Doc], int]:
        """For operators: stored callbacks, newest first, optionally by status."""
        selector: Doc = {} if status is None else {"status": status}
        total = self._c.count_documents(selector)
        cursor = (self._c.find(selector).sort([("receivedAt", -1), ("_id", -1)])
                  .skip((page - 1) * limit).limit(limit))
        return list(cursor), total

    def stale(self, before: datetime, limit: int) -> list[str]:
        docs = self._c.find({"status": "received", "receivedAt": {"$lt": before}},
                            projection={"_id": 1}).limit(limit)
        return [doc["_id"] for doc in docs]

    def requeued(self, callback_id: str) -> int:
        doc = self._c.find_one_and_update({"_id": callback_id}, {"$inc": {"requeues": 1}},
                                          return_document=ReturnDocument.AFTER)
        return 0 if doc is None else int(doc.get("requeues", 0))

    def mark(self, callback_id: str, status: str, outcome: str, now: datetime) -> None:
        self._c.update_one(
            {"_id": callback_id},
            # Datetimes go inside a sub-document: see docs/mongo-compat.md.
            {"$set": {"status": status, "processed": {"outcome": outcome, "at": now}}},
        )
