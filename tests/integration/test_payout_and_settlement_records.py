"""Payout status queries and unposted settlements on the real Mongo-wire server."""

from __future__ import annotations

import dataclasses
import threading
import uuid
from datetime import UTC, datetime, timedelta

from pymongo.database import Database

from adapters.mongo.deals import MongoDeals
from adapters.mongo.payouts import MongoPayouts
from domain.deals import Deal, Settlement
from domain.errors import ConcurrencyError
from domain.payouts import Payout, PayoutStatus

NOW = datetime(2026, 11, 24, 10, 30, 0, 123000, tzinfo=UTC)


def _payout() -> Payout:
    return Payout(uuid.uuid4().hex, "u1", 500, "254708374149", uuid.uuid4().hex, "h",
                  debit_key="wallet:u1:debit:1", created_at=NOW, updated_at=NOW,
                  status=PayoutStatus.PENDING,
                  originator_conversation_id=f"escrow-{uuid.uuid4().hex}")


def test_status_queries_recorded_while_the_payout_is_saved_are_never_lost(db: Database) -> None:
    payouts = MongoPayouts(db)
    payout = _payout()
    payouts.add(payout)
    ids = [f"query-{n}" for n in range(20)]

    def record(query_id: str) -> None:
        payouts.record_status_query(payout.id, query_id)

    def save_repeatedly() -> None:
        current = payout
        for _ in range(20):
            checked = current.checked(NOW)
            try:
                payouts.save(checked, expected_version=current.version)
                current = checked
            except ConcurrencyError:
                found = payouts.get(payout.id)
                assert found is not None
                current = found

    threads = [threading.Thread(target=record, args=(q,)) for q in ids]
    threads.append(threading.Thread(target=save_repeatedly))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(payouts.by_status_query(q) is not None for q in ids)
    found = payouts.by_status_query("query-7")
    assert found is not None and found.id == payout.id
    assert payouts.by_status_query("never-sent") is None


def test_a_status_result_is_matched_only_by_our_query_not_by_the_payout_id(db: Database) -> None:
    payouts = MongoPayouts(db)
    payout = _payout()
    payouts.add(payout)
    payouts.record_status_query(payout.id, "AG_query_1")
    assert payouts.by_status_query(payout.originator_conversation_id) is None
    assert payouts.by_conversation(payout.originator_conversation_id) == payout
    assert payouts.by_conversation(f"escrow-payout-{payout.id}") is None  # not derivable


def test_unposted_settlements_are_swept_oldest_first_whatever_their_age(db: Database) -> None:
    deals = MongoDeals(db)
    settled = []
    for n in range(5):
        at = NOW - timedelta(days=30 - n)
        deal = Deal(id=f"d{n}-{uuid.uuid4().hex[:6]}", title="Phone", description="Used",
                    amount=1000, buyer_id="b", seller_id="s", created_at=at, updated_at=at,
                    funded_by="p", settlement=Settlement("released", 1000, 0, 25, at))
        deals.add(deal)
        settled.append(deal)
    deals.add(dataclasses.replace(settled[0], id="unsettled", settlement=None))
    deals.mark_settlement_posted(settled[1].id)
    found = [d.id for d in deals.unposted_settlements(10)]
    assert found == [settled[0].id, settled[2].id, settled[3].id, settled[4].id]
    deals.save(dataclasses.replace(settled[1], version=2), expected_version=1)
    assert settled[1].id in [d.id for d in deals.unposted_settlements(10)]  # swept again: no-op
