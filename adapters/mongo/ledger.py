"""Ledger postings in MongoDB: one document per posting, its key as ``_id``."""

from __future__ import annotations

from collections.abc import Sequence

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.ledger import Line, Posting, PostingConflict


class MongoLedger:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["postings"]

    def post(self, posting: Posting) -> bool:
        doc = _to_doc(posting)
        try:
            self._c.insert_one(doc)
            return True
        except DuplicateKeyError:
            existing = self._c.find_one({"_id": posting.key})
            same = existing is not None and all(
                existing.get(field) == doc[field] for field in ("lines", "memo", "kind"))
            if not same:
                raise PostingConflict(f"posting {posting.key} is another posting") from None
            return False

    def postings_for_deal(self, deal_id: str) -> Sequence[Posting]:
        return [_from_doc(d) for d in self._c.find({"dealId": deal_id}).sort("createdAt", 1)]

    def postings_for_account(self, account: str, limit: int = 100) -> Sequence[Posting]:
        """The newest first."""
        cursor = self._c.find({"accounts": account}).sort([("createdAt", -1), ("_id", -1)])
        return [_from_doc(d) for d in cursor.limit(limit)]

    def get(self, key: str) -> Posting | None:
        doc = self._c.find_one({"_id": key})
        return None if doc is None else _from_doc(doc)

    def count(self, account: str, kind: str) -> int:
        return self._c.count_documents({"accounts": account, "kind": kind})

    def balance(self, account: str) -> int:
        # $project before $group: nx-27017 cannot group on a path into an unwound array
        # (docs/mongo-compat.md); this form is correct on MongoDB as well.
        rows = list(self._c.aggregate([
            {"$match": {"accounts": account}},
            {"$unwind": "$lines"},
            {"$project": {"account": "$lines.account", "amount": "$lines.amount"}},
            {"$match": {"account": account}},
            {"$group": {"_id": None, "total": {"$sum": "$amount"}}},
        ]))
        return int(rows[0]["total"]) if rows else 0

    def trial_balance(self) -> dict[str, int]:
        """Every account's balance; their sum must be zero."""
        rows = self._c.aggregate([
            {"$unwind": "$lines"},
            {"$project": {"account": "$lines.account", "amount": "$lines.amount"}},
            {"$group": {"_id": "$account", "total": {"$sum": "$amount"}}},
        ])
        return {row["_id"]: int(row["total"]) for row in rows}


def _to_doc(posting: Posting) -> Doc:
    return {
        "_id": posting.key, "kind": posting.kind, "dealId": posting.deal_id,
        "memo": posting.memo, "createdAt": posting.created_at,
        "lines": [{"account": line.account, "amount": line.amount} for line in posting.lines],
        "accounts": [line.account for line in posting.lines],
    }


def _from_doc(doc: Doc) -> Posting:
    return Posting(
        key=doc["_id"], kind=doc["kind"], created_at=doc["createdAt"], deal_id=doc.get("dealId"),
        memo=doc.get("memo"),
        lines=tuple(Line(line["account"], line["amount"]) for line in doc["lines"]),
    )
