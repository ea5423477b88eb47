"""Stored notifications in MongoDB: one per person and event."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.notifications import Notification


class MongoNotifications:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["notifications"]

    def add(self, notification: Notification) -> bool:
        try:
            self._c.insert_one(_to_doc(notification))
            return True
        except DuplicateKeyError:
            return False

    def find(self, user_id: str, unread_only: bool, page: int,
             limit: int) -> tuple[Sequence[Notification], int]:
        selector: Doc = {"userId": user_id}
        if unread_only:
            selector["read"] = False
        total = self._c.count_documents(selector)
        cursor = (self._c.find(selector).sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
                  .skip((page - 1) * limit).limit(limit))
        return [_from_doc(d) for d in cursor], total

    def mark_read(self, user_id: str, notification_id: str) -> bool:
        found = self._c.find_one_and_update(
            {"_id": notification_id, "userId": user_id}, {"$set": {"read": True}},
            projection={"_id": 1})
        return found is not None

    def mark_all_read(self, user_id: str) -> int:
        return self._c.update_many({"userId": user_id, "read": False},
                                   {"$set": {"read": True}}).modified_count


def _to_doc(n: Notification) -> Doc:
    return {"_id": n.id, "userId": n.user_id, "kind": n.kind, "message": n.message,
            "createdAt": n.created_at, "dealId": n.deal_id, "payoutId": n.payout_id,
            "read": n.read}


def _from_doc(doc: Doc) -> Notification:
    return Notification(id=doc["_id"], user_id=doc["userId"], kind=doc["kind"],
                        message=doc["message"], created_at=doc["createdAt"],
                        deal_id=doc.get("dealId"), payout_id=doc.get("payoutId"),
                        read=bool(doc.get("read")))
