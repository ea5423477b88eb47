"""Withdrawals (B2C payouts) in MongoDB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.errors import ConcurrencyError
from domain.payouts import Payout, PayoutStatus

_FIELDS = {  # attribute → document key
    "user_id": "userId", "amount": "amount", "phone": "phone",
    "idempotency_key": "idempotencyKey", "request_hash": "requestHash", "debit_key": "debitKey",
    "created_at": "createdAt", "updated_at": "updatedAt", "conversation_id": "conversationId",
    "receipt": "receipt", "result_code": "resultCode", "result_desc": "resultDesc",
    "send_started_at": "sendStartedAt", "status_checks": "statusChecks",
    "last_check_at": "lastCheckAt", "version": "version",
    "originator_conversation_id": "originatorConversationId",
}


class MongoPayouts:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["payouts"]
        self._queries = db["payout_status_queries"]

    def add(self, payout: Payout) -> Payout:
        try:
            self._c.insert_one(_to_doc(payout))
            return payout
        except DuplicateKeyError:
            holder = self.by_idempotency_key(payout.user_id, payout.idempotency_key)
            if holder is None:
                raise ConcurrencyError("payout key changed; try again") from None
            return holder

    def remove_unreserved(self, payout: Payout) -> None:
        self._c.delete_one({"_id": payout.id, "status": PayoutStatus.QUEUED.value})

    def get(self, payout_id: str) -> Payout | None:
        return _from_doc(self._c.find_one({"_id": payout_id}))

    def by_idempotency_key(self, user_id: str, key: str) -> Payout | None:
        return _from_doc(self._c.find_one({"userId": user_id, "idempotencyKey": key}))

    def by_conversation(self, originator_conversation_id: str) -> Payout | None:
        return _from_doc(self._c.find_one(
            {"originatorConversationId": originator_conversation_id}))

    def by_status_query(self, query_id: str) -> Payout | None:
        query = self._queries.find_one({"_id": query_id}) if query_id else None
        return None if query is None else self.get(query["payoutId"])

    def record_status_query(self, payout_id: str, query_id: str) -> None:
        if not query_id:
            return  # Daraja gave the query no id: its answer cannot be matched to us
        try:
            self._queries.insert_one({"_id": query_id, "payoutId": payout_id})
        except DuplicateKeyError:
            pass  # recorded before

    def save(self, payout: Payout, expected_version: int) -> None:
        found = self._c.find_one_and_replace(
            {"_id": payout.id, "version": expected_version}, _to_doc(payout),
            projection={"_id": 1})
        if found is None:
            raise ConcurrencyError("the payout changed meanwhile")

    def stale(self, status: str, before: datetime, limit: int) -> Sequence[Payout]:
        docs = self._c.find({"status": status, "updatedAt": {"$lt": before}}).limit(limit)
        return [p for p in map(_from_doc, docs) if p is not None]

    def for_user(self, user_id: str, limit: int) -> Sequence[Payout]:
        docs = self._c.find({"userId": user_id}).sort("createdAt", -1).limit(limit)
        return [p for p in map(_from_doc, docs) if p is not None]


def _to_doc(payout: Payout) -> Doc:
    doc: Doc = {"_id": payout.id, "status": payout.status.value}
    doc.update({key: getattr(payout, attr) for attr, key in _FIELDS.items()})
    return doc


def _from_doc(doc: Doc | None) -> Payout | None:
    if doc is None:
        return None
    values: dict[str, Any] = {attr: doc.get(key) for attr, key in _FIELDS.items()}
    return Payout(id=doc["_id"], status=PayoutStatus(doc["status"]), **values)
