"""STK payment attempts in MongoDB."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from adapters.mongo.client import Doc
from domain.errors import ConcurrencyError
from domain.payments import Payment, PaymentStatus

_OPTIONAL = ("merchantRequestId", "checkoutRequestId", "receipt", "resultCode", "resultDesc",
             "paidAt", "pushStartedAt", "openFor", "nextCheckAt")
PROMPT_LIFETIME = timedelta(minutes=3)  # a prompt older than this has expired on the phone


class MongoPayments:
    def __init__(self, db: Database[Doc]) -> None:
        self._c = db["payments"]

    def add(self, payment: Payment) -> Payment:
        try:
            self._c.insert_one(_to_doc(payment))
            return payment
        except DuplicateKeyError:
            holder = self.by_idempotency_key(payment.payer_id, payment.idempotency_key)
            holder = holder or self.open_for_deal(payment.deal_id)
            if holder is None:  # the slot was freed between our insert and this read
                raise ConcurrencyError("payment slot changed; try again") from None
            return holder

    def get(self, payment_id: str) -> Payment | None:
        return _from_doc(self._c.find_one({"_id": payment_id}))

    def by_idempotency_key(self, payer_id: str, key: str) -> Payment | None:
        return _from_doc(self._c.find_one({"payerId": payer_id, "idempotencyKey": key}))

    def by_checkout_request_id(self, checkout_request_id: str) -> Payment | None:
        return _from_doc(self._c.find_one({"checkoutRequestId": checkout_request_id}))

    def by_receipt(self, receipt: str) -> Payment | None:
        return _from_doc(self._c.find_one({"receipt": receipt}))

    def open_for_deal(self, deal_id: str) -> Payment | None:
        return _from_doc(self._c.find_one({"openFor": deal_id}))

    def in_doubt_for(self, phone: str) -> Sequence[Payment]:
        return [p for p in self._on_phone(phone)
                if p.checkout_request_id is None and p.push_started_at is not None
                and (p.outcome_unknown or p.status is PaymentStatus.QUEUED)]

    def open_push_to(self, phone: str, other_than: str) -> Payment | None:
        since = datetime.now(UTC) - PROMPT_LIFETIME
        return next((p for p in self._on_phone(phone)
                     if p.id != other_than and p.is_open
                     and p.push_started_at is not None and p.push_started_at >= since), None)

    def _on_phone(self, phone: str) -> list[Payment]:
        """Every payment to ``phone`` (a handful), filtered here: an equality on the indexed
        phone alone is what nx-27017 answers from its index; beside an ``$in``, ``$or`` or a
        range it scans the collection (55 ms against 4 ms with 3,000 payments stored;
        docs/mongo-compat.md). MongoDB answers both from the index."""
        return [p for p in map(_from_doc, self._c.find({"phone": phone})) if p is not None]

    def due_for_check(self, now: datetime, limit: int) -> Sequence[Payment]:
        docs = self._c.find({"status": "pending", "nextCheckAt": {"$lte": now}}).limit(limit)
        return [p for p in map(_from_doc, docs) if p is not None]

    def stale_queued(self, before: datetime, limit: int) -> Sequence[Payment]:
        docs = self._c.find({"status": "queued", "updatedAt": {"$lt": before}}).limit(limit)
        return [p for p in map(_from_doc, docs) if p is not None]

    def unfinished(self, before: datetime, limit: int) -> Sequence[Payment]:
        # Every save writes finished: false; only finishing sets it (documents from before
        # the field existed are finished once, a no-op).
        docs = self._c.find({"status": {"$in": ["success", "failed"]},
                             "finished": {"$ne": True}, "updatedAt": {"$lt": before}})
        return [p for p in map(_from_doc, docs.sort("updatedAt", 1).limit(limit)) if p]

    def mark_finished(self, payment_id: str) -> None:
        self._c.update_one({"_id": payment_id}, {"$set": {"finished": True}})

    def for_deal(self, deal_id: str) -> Sequence[Payment]:
        docs = self._c.find({"dealId": deal_id}).sort([("createdAt", 1), ("_id", 1)])
        return [p for p in map(_from_doc, docs) if p is not None]

    def save(self, payment: Payment, expected_version: int) -> None:
        # Whole-document replace with the version in the filter: a compare-and-set that
        # also drops fields that became empty (and keeps datetimes intact on nx-27017).
        found = self._c.find_one_and_replace(
            {"_id": payment.id, "version": expected_version}, _to_doc(payment),
            projection={"_id": 1},
        )
        if found is None:
            raise ConcurrencyError("the payment changed meanwhile")


def _to_doc(p: Payment) -> Doc:
    doc: Doc = {
        "_id": p.id, "dealId": p.deal_id, "payerId": p.payer_id, "amount": p.amount,
        "phone": p.phone, "status": p.status.value, "method": p.method,
        "idempotencyKey": p.idempotency_key, "requestHash": p.request_hash,
        "version": p.version, "createdAt": p.created_at, "updatedAt": p.updated_at,
        "merchantRequestId": p.merchant_request_id, "checkoutRequestId": p.checkout_request_id,
        "receipt": p.receipt, "resultCode": p.result_code, "resultDesc": p.result_desc,
        "paidAt": p.paid_at, "pushStartedAt": p.push_started_at,
        "outcomeUnknown": p.outcome_unknown, "checks": p.checks, "nextCheckAt": p.next_check_at,
        "late": p.late, "accountReference": p.account_reference, "finished": False,
        "openFor": p.deal_id if p.is_open else None,
    }
    # Absent, not null: the partial unique indexes only cover strings that are there.
    return {k: v for k, v in doc.items() if v is not None or k not in _OPTIONAL}


def _from_doc(doc: Doc | None) -> Payment | None:
    if doc is None:
        return None
    return Payment(
        id=doc["_id"], deal_id=doc["dealId"], payer_id=doc["payerId"], amount=doc["amount"],
        phone=doc["phone"], status=PaymentStatus(doc["status"]), method=doc["method"],
        idempotency_key=doc["idempotencyKey"], request_hash=doc["requestHash"],
        version=doc["version"], created_at=doc["createdAt"], updated_at=doc["updatedAt"],
        merchant_request_id=doc.get("merchantRequestId"),
        checkout_request_id=doc.get("checkoutRequestId"), receipt=doc.get("receipt"),
        result_code=doc.get("resultCode"), result_desc=doc.get("resultDesc"),
        paid_at=doc.get("paidAt"), push_started_at=doc.get("pushStartedAt"),
        outcome_unknown=bool(doc.get("outcomeUnknown")), checks=doc.get("checks", 0),
        next_check_at=doc.get("nextCheckAt"), late=bool(doc.get("late")),
        account_reference=doc.get("accountReference") or "", finished=bool(doc.get("finished")),
    )
