"""The Mongo repositories against the real Mongo-wire server: CAS, uniqueness, idempotency."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.database import Database

from adapters.mongo.callbacks import MongoCallbacks
from adapters.mongo.deals import MongoDeals
from adapters.mongo.ledger import MongoLedger
from adapters.mongo.payments import MongoPayments
from domain import ledger
from domain.deals import Deal, Trigger
from domain.errors import ConcurrencyError
from domain.ledger import PostingConflict
from domain.payments import Payment

NOW = datetime(2026, 11, 24, 10, 30, 0, 123000, tzinfo=UTC)


def _deal() -> Deal:
    return Deal(id=uuid.uuid4().hex, title="Phone", description="Used", amount=1500,
                buyer_id="b", seller_id="s", created_at=NOW, updated_at=NOW)


def _payment(deal_id: str, key: str = "k1") -> Payment:
    return Payment(id=uuid.uuid4().hex, deal_id=deal_id, payer_id="b", amount=1500,
                   phone="254708374149", created_at=NOW, updated_at=NOW,
                   idempotency_key=key, request_hash="h")


def test_a_deal_reads_back_exactly_as_saved_dates_included(db: Database) -> None:
    deals = MongoDeals(db)
    deal = _deal()
    deals.add(deal)
    paid = deal.apply(Trigger.FUND, "system", NOW, "funded", funded_by="p1")
    deals.save(paid, expected_version=deal.version)
    assert deals.get(deal.id) == paid


def test_a_stale_save_loses_with_a_concurrency_error(db: Database) -> None:
    deals = MongoDeals(db)
    deal = _deal()
    deals.add(deal)
    deals.save(deal.apply(Trigger.CANCEL, "b", NOW, "cancelled"), expected_version=1)
    with pytest.raises(ConcurrencyError):
        deals.save(deal.apply(Trigger.FUND, "system", NOW, "funded"), expected_version=1)
    assert deals.get(deal.id).status.value == "cancelled"  # type: ignore[union-attr]


def test_the_same_timeline_event_is_written_once(db: Database) -> None:
    deals = MongoDeals(db)
    deal = _deal()
    deals.add(deal)
    changed = deal.apply(Trigger.UPDATE, "b", NOW, "updated")
    assert changed.last_event is not None
    for _ in range(3):
        deals.record_event(changed.last_event)
    assert [e.seq for e in deals.timeline(deal.id)] == [2]


def test_one_open_payment_per_deal_and_one_payment_per_key(db: Database) -> None:
    payments = MongoPayments(db)
    first = _payment("deal-1", "k1")
    assert payments.add(first) == first
    assert payments.add(_payment("deal-1", "k2")).id == first.id  # the open slot is taken
    assert payments.add(_payment("deal-2", "k1")).id == first.id  # the key is taken
    failed = first.rejected("1032", "cancelled", NOW)
    payments.save(failed, expected_version=first.version)
    second = dataclasses.replace(_payment("deal-1", "k3"), created_at=NOW + timedelta(seconds=1))
    assert payments.add(second) == second
    assert payments.get(first.id) == failed
    assert [p.id for p in payments.for_deal("deal-1")] == [first.id, second.id]


def test_a_posting_is_written_once_and_a_different_one_under_its_key_is_refused(
    db: Database,
) -> None:
    book = MongoLedger(db)
    hold = ledger.fund_escrow("p1", "d1", 1500, NOW)
    assert book.post(hold) is True
    assert book.post(hold) is False
    with pytest.raises(PostingConflict):
        book.post(dataclasses.replace(hold, lines=(ledger.Line("mpesa:clearing", -1),
                                                   ledger.Line("escrow:d1", 1))))
    book.post(ledger.transfer("t1", "test", "escrow:d1", "wallet:s", 1000, NOW, deal_id="d1"))
    assert book.balance("escrow:d1") == 500 and book.balance("wallet:s") == 1000
    assert book.balance("mpesa:clearing") == -1500
    assert sum(book.trial_balance().values()) == 0
    assert [p.key for p in book.postings_for_deal("d1")] == [hold.key, "t1"]


def test_a_callback_body_is_stored_once_and_repeats_are_counted(db: Database) -> None:
    inbox = MongoCallbacks(db)
    first = inbox.store("stk", b'{"Body": 1}', "127.0.0.1", NOW)
    again = inbox.store("stk", b'{"Body": 1}', "127.0.0.1", NOW)
    assert not first.duplicate and again.duplicate and again.item.id == first.item.id
    inbox.mark(first.item.id, "processed", "credited", NOW)
    stored = db.mpesa_callbacks.find_one({"_id": first.item.id})
    assert stored["repeats"] == 1 and stored["status"] == "processed"
    assert stored["processed"]["at"] == NOW and stored["receivedAt"] == NOW


def test_the_phone_lookups_find_open_and_doubtful_pushes_and_nothing_else(db: Database) -> None:
    repo = MongoPayments(db)
    now = datetime.now(UTC).replace(microsecond=0)
    mine = _payment("d-mine", "k-mine")
    phone = mine.phone
    claimed = dataclasses.replace(_payment("d-claimed", "k-claimed"), push_started_at=now)
    old = dataclasses.replace(_payment("d-old", "k-old"), push_started_at=now - timedelta(hours=1))
    for payment in (mine, claimed, old):
        repo.add(payment)
    assert repo.open_push_to(phone, mine.id).id == claimed.id  # type: ignore[union-attr]
    assert repo.open_push_to(phone, claimed.id) is None  # itself, and a prompt long expired
    assert {p.id for p in repo.in_doubt_for(phone)} == {claimed.id, old.id}  # claimed, no answer
    answered = dataclasses.replace(claimed, checkout_request_id="ws_CO_1", version=2)
    repo.save(answered, expected_version=claimed.version)
    assert {p.id for p in repo.in_doubt_for(phone)} == {old.id}
    assert repo.open_push_to("254799999999", mine.id) is None  # another phone
