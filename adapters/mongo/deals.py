"""Deals and their timeline in MongoDB. A save is a compare-and-set on ``version``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from pymongo import DESCENDING
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.deals import Deal, DealStatus, Dispute, PaymentSummary, Settlement, TimelineEvent
from domain.errors import ConcurrencyError
from domain.ports import DealQuery


class MongoDeals:
    def __init__(self, db: Database[Doc]) -> None:
        self._deals = db["deals"]
        self._events = db["deal_events"]

    def add(self, deal: Deal) -> None:
        self._deals.insert_one(_to_doc(deal))

    def get(self, deal_id: str) -> Deal | None:
        doc = self._deals.find_one({"_id": deal_id})
        return None if doc is None else _from_doc(doc)

    def save(self, deal: Deal, expected_version: int) -> None:
        # A whole-document replace, not $set: nx-27017 stores a $set datetime as a string
        # (docs/mongo-compat.md). The version in the filter makes it a compare-and-set.
        found = self._deals.find_one_and_replace(
            {"_id": deal.id, "version": expected_version}, _to_doc(deal), projection={"_id": 1},
        )
        if found is None:
            raise ConcurrencyError("the deal changed meanwhile; reload and try again")

    def record_event(self, event: TimelineEvent) -> None:
        try:
            self._events.insert_one({"_id": f"{event.deal_id}:{event.seq}", **_event_doc(event)})
        except DuplicateKeyError:
            pass  # written before: appending the same event twice is a no-op

    def timeline(self, deal_id: str) -> Sequence[TimelineEvent]:
        return [_event(d) for d in self._events.find({"dealId": deal_id}).sort("seq", 1)]

    def due_for_release(self, now: datetime, limit: int) -> Sequence[Deal]:
        selector = {"status": DealStatus.ACTIVE.value, "inspectionEndsAt": {"$lte": now}}
        return [_from_doc(d) for d in self._deals.find(selector).limit(limit)]

    def unfunded_past_due(self, now: datetime, limit: int) -> Sequence[Deal]:
        selector = {"status": DealStatus.PENDING.value, "dueDate": {"$lte": now}}
        return [_from_doc(d) for d in self._deals.find(selector).limit(limit)]

    def unposted_settlements(self, limit: int) -> Sequence[Deal]:
        # Every save writes settlementPosted: false beside a settlement; only the posting
        # step sets it true. Older documents without the field are swept once as well.
        selector = {"settlement": {"$ne": None}, "settlementPosted": {"$ne": True}}
        cursor = self._deals.find(selector).sort([("updatedAt", 1), ("_id", 1)]).limit(limit)
        return [_from_doc(d) for d in cursor]

    def mark_settlement_posted(self, deal_id: str) -> None:
        self._deals.update_one({"_id": deal_id}, {"$set": {"settlementPosted": True}})

    def find(self, query: DealQuery) -> tuple[Sequence[Deal], int]:
        selector: Doc = {}
        if query.user_id is not None:
            if query.role == "buyer":
                selector["buyerId"] = query.user_id
            elif query.role == "seller":
                selector["sellerId"] = query.user_id
            else:
                selector["$or"] = [{"buyerId": query.user_id}, {"sellerId": query.user_id}]
        if query.status is not None:
            selector["status"] = query.status.value
        total = self._deals.count_documents(selector)
        cursor = (self._deals.find(selector).sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
                  .skip((query.page - 1) * query.limit).limit(query.limit))
        return [_from_doc(d) for d in cursor], total


def _to_doc(deal: Deal) -> Doc:
    p = deal.payment
    return {
        "_id": deal.id, "title": deal.title, "description": deal.description,
        "amount": deal.amount, "currency": deal.currency, "status": deal.status.value,
        "buyerId": deal.buyer_id, "sellerId": deal.seller_id, "dueDate": deal.due_date,
        "terms": deal.terms, "inspectionDays": deal.inspection_days,
        "payment": None if p is None else {
            "method": p.method, "reference": p.reference, "status": p.status, "paidAt": p.paid_at,
        },
        "fundedBy": deal.funded_by, "deliveredAt": deal.delivered_at,
        "inspectionEndsAt": deal.inspection_ends_at,
        "dispute": None if deal.dispute is None else _plain(deal.dispute),
        "settlement": None if deal.settlement is None else _plain(deal.settlement),
        "settlementPosted": False,
        "version": deal.version,
        "lastEvent": None if deal.last_event is None else _event_doc(deal.last_event),
        "createdAt": deal.created_at, "updatedAt": deal.updated_at,
    }


def _from_doc(doc: Doc) -> Deal:
    p = doc.get("payment")
    last = doc.get("lastEvent")
    return Deal(
        id=doc["_id"], title=doc["title"], description=doc["description"], amount=doc["amount"],
        currency=doc["currency"], status=DealStatus(doc["status"]), buyer_id=doc["buyerId"],
        seller_id=doc["sellerId"], due_date=doc.get("dueDate"), terms=doc.get("terms"),
        inspection_days=doc["inspectionDays"],
        payment=None if not p else PaymentSummary(
            p["method"], p.get("reference"), p["status"], p.get("paidAt")),
        funded_by=doc.get("fundedBy"), delivered_at=doc.get("deliveredAt"),
        inspection_ends_at=doc.get("inspectionEndsAt"),
        dispute=Dispute(**_snake(doc["dispute"])) if doc.get("dispute") else None,
        settlement=Settlement(**_snake(doc["settlement"])) if doc.get("settlement") else None,
        version=doc["version"],
        last_event=None if not last else _event(last),
        created_at=doc["createdAt"], updated_at=doc["updatedAt"],
    )


def _plain(value: Dispute | Settlement) -> Doc:
    """A flat value object as a sub-document with camelCase keys."""
    return {_camel(k): v for k, v in dataclasses.asdict(value).items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _snake(doc: Doc) -> Doc:
    return {"".join(f"_{c.lower()}" if c.isupper() else c for c in k): v for k, v in doc.items()}


def _event_doc(event: TimelineEvent) -> Doc:
    return {
        "dealId": event.deal_id, "seq": event.seq, "status": event.status.value,
        "fromStatus": None if event.from_status is None else event.from_status.value,
        "event": event.event, "actor": event.actor, "note": event.note,
        "timestamp": event.timestamp,
    }


def _event(doc: Doc) -> TimelineEvent:
    return TimelineEvent(
        deal_id=doc["dealId"], seq=doc["seq"], status=DealStatus(doc["status"]),
        from_status=DealStatus(doc["fromStatus"]) if doc.get("fromStatus") else None,
        event=doc["event"], actor=doc["actor"], note=doc.get("note"), timestamp=doc["timestamp"],
    )
