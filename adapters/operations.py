"""What operators do by hand to stored callbacks (`flask replay-callback`, `review-callback`)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ReturnDocument
from pymongo.database import Database

from adapters.mongo.client import Doc

REVIEWED = "reviewed"  # flagged, looked at by a person, nothing more to do


def replay_callback(db: Database[Doc], callback_id: str, now: datetime) -> Doc | None:
    """Put a flagged (or reviewed) callback back to ``received``, the previous verdict kept
    under ``replays``; the caller enqueues it. None if no such callback waits for a person."""
    doc = db["mpesa_callbacks"].find_one({"_id": callback_id,
                                          "status": {"$in": ["flagged", REVIEWED]}})
    if doc is None:
        return None
    replays = [*(doc.get("replays") or []), {"at": now, "was": doc.get("processed")}]
    return db["mpesa_callbacks"].find_one_and_update(
        {"_id": callback_id, "status": doc["status"]},  # compare-and-set: one replay wins
        {"$set": {"status": "received", "processed": None, "replays": replays}},
        return_document=ReturnDocument.AFTER)


def review_callback(db: Database[Doc], callback_id: str, note: str, now: datetime) -> Doc | None:
    """Mark a flagged callback reviewed (off the flagged list, its verdict kept)."""
    return db["mpesa_callbacks"].find_one_and_update(
        {"_id": callback_id, "status": "flagged"},
        {"$set": {"status": REVIEWED, "review": {"at": now, "note": note}}},
        return_document=ReturnDocument.AFTER)
