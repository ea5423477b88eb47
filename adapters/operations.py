"""What operators do by hand to stored callbacks (`flask replay-callback`, `review-callback`)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.database import Database

from adapters.mongo.client import Doc

REVIEWED = "reviewed"  # flagged, looked at by a person, nothing more to do
SOURCE_NOT_ALLOWED = "source_not_allowed"  # the verdict on a callback from outside the allow-list


class RefusedForItsSource(Exception):
    """A callback kept because its source was not on the allow-list is never replayed: that
    would process a body from anywhere. The allow-list decides (api/callbacks.py)."""

    def __init__(self, source_ip: str | None) -> None:
        super().__init__(source_ip)
        self.source_ip = source_ip


def replay_callback(db: Database[Doc], callback_id: str, now: datetime) -> Doc | None:
    """Put a flagged (or reviewed) callback back to ``received``, the previous verdict kept
    under ``replays``; the caller enqueues it. None if no such callback waits for a person;
    ``RefusedForItsSource`` if it was kept only because of where it came from."""
    doc = db["mpesa_callbacks"].find_one({"_id": callback_id,
                                          "status": {"$in": ["flagged", REVIEWED]}})
    if doc is None:
        return None
    if (doc.get("processed") or {}).get("outcome") == SOURCE_NOT_ALLOWED:
        raise RefusedForItsSource(doc.get("sourceIp"))
    replays = [*(doc.get("replays") or []), {"at": now, "was": doc.get("processed")}]
    return db["mpesa_callbacks"].find_one_and_update(
        {"_id": callback_id, "status": doc["status"],  # compare-and-set: one replay wins
         "processed.outcome": {"$ne": SOURCE_NOT_ALLOWED}},
        {"$set": {"status": "received", "processed": None, "replays": replays}},
        return_document=ReturnDocument.AFTER)


def review_callback(db: Database[Doc], callback_id: str, note: str, now: datetime) -> Doc | None:
    """Mark a flagged callback reviewed (off the flagged list, its verdict kept)."""
    return db["mpesa_callbacks"].find_one_and_update(
        {"_id": callback_id, "status": "flagged"},
        {"$set": {"status": REVIEWED, "review": {"at": now, "note": note}}},
        return_document=ReturnDocument.AFTER)
