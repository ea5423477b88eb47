"""Processing stored callbacks: processed, flagged, or waiting for our own write."""

from __future__ import annotations

import json

import pytest

from domain.services import callbacks, deals, payments
from domain.services.deals import DealTerms
from tests.unit.conftest import World
from tests.unit.fakes import FakeInbox, ScriptedGateway


def _body(checkout: str, code: int = 0, amount: str = "1500.00") -> str:
    items = [{"Name": "Amount", "Value": "AMOUNT"}, {"Name": "MpesaReceiptNumber",
             "Value": "SG632NMUAB"}, {"Name": "Balance"},
             {"Name": "TransactionDate", "Value": 20261124103000},
             {"Name": "PhoneNumber", "Value": 254708374149}]
    callback = {"MerchantRequestID": "m", "CheckoutRequestID": checkout, "ResultCode": code,
                "ResultDesc": "ok"}
    if code == 0:
        callback["CallbackMetadata"] = {"Item": items}
    return json.dumps({"Body": {"stkCallback": callback}}).replace('"AMOUNT"', amount)


def _pending_checkout(world: World) -> str:
    deal = deals.open_deal(world.ctx, world.buyer.id,
                           DealTerms("Phone", "Used", 1500, seller_email=world.seller.email))
    payment = payments.request_payment(world.ctx, world.buyer, deal.id, "254708374149", "k", "h")
    pushed = payments.send_stk_push(world.ctx, ScriptedGateway(), payment.id)
    assert pushed is not None and pushed.checkout_request_id
    return pushed.checkout_request_id


def test_a_good_callback_is_processed_and_its_replay_is_not_news(world: World) -> None:
    inbox, checkout = FakeInbox(), _pending_checkout(world)
    first = inbox.put(_body(checkout), world.ctx.clock)  # type: ignore[arg-type]
    assert callbacks.process_stk_callback(world.ctx, inbox, first, True) == "credited"
    assert inbox.marks[first] == ("processed", "credited")
    replay = inbox.put(_body(checkout), world.ctx.clock)  # type: ignore[arg-type]
    assert callbacks.process_stk_callback(world.ctx, inbox, replay, True) == "already_final"
    assert inbox.marks[replay] == ("processed", "already_final")


def test_a_contradicting_callback_after_the_fact_is_flagged(world: World) -> None:
    inbox, checkout = FakeInbox(), _pending_checkout(world)
    callbacks.process_stk_callback(
        world.ctx, inbox, inbox.put(_body(checkout), world.ctx.clock), True)  # type: ignore
    late = inbox.put(_body(checkout, code=1032), world.ctx.clock)  # type: ignore[arg-type]
    callbacks.process_stk_callback(world.ctx, inbox, late, True)
    assert inbox.marks[late] == ("flagged", "already_final")


def test_a_wrong_amount_is_flagged_and_moves_nothing(world: World) -> None:
    inbox, checkout = FakeInbox(), _pending_checkout(world)
    spoof = inbox.put(_body(checkout, amount="1.00"), world.ctx.clock)  # type: ignore[arg-type]
    assert callbacks.process_stk_callback(world.ctx, inbox, spoof, True) == "mismatch"
    assert inbox.marks[spoof][0] == "flagged"
    assert world.ctx.ledger.postings == {}  # type: ignore[attr-defined]


def test_an_unknown_checkout_waits_for_our_write_then_is_flagged(world: World) -> None:
    inbox = FakeInbox()
    early = inbox.put(_body("ws_CO_not_yet"), world.ctx.clock)  # type: ignore[arg-type]
    with pytest.raises(callbacks.NotYetMatched):
        callbacks.process_stk_callback(world.ctx, inbox, early, wait_for_match=True)
    assert early not in inbox.marks
    assert callbacks.process_stk_callback(world.ctx, inbox, early, False) == "unknown_payment"
    assert inbox.marks[early] == ("flagged", "unknown_payment")


@pytest.mark.parametrize("raw", ["not json", "[]", '{"Body": {}}'])
def test_a_malformed_body_is_flagged(world: World, raw: str) -> None:
    inbox = FakeInbox()
    key = inbox.put(raw, world.ctx.clock)  # type: ignore[arg-type]
    assert callbacks.process_stk_callback(world.ctx, inbox, key, True) == "malformed"
    assert inbox.marks[key][0] == "flagged"
