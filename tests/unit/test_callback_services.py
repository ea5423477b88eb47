"""Processing stored STK callbacks: processed, flagged, or waiting for our own write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from domain import ledger
from domain.deals import DealStatus, Trigger
from domain.mpesa import parse_stk_callback
from domain.payments import Payment, PaymentStatus
from domain.ports import StkAccepted
from domain.services import callbacks
from tests.unit.fakes import FakeInbox
from tests.unit.world import RECEIPT, World

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures/daraja"  # provenance: its README


def _body(checkout: str, code: int = 0, amount: str = "1500.00", receipt: str = RECEIPT,
          phone: int = 254708374149) -> str:
    callback: dict[str, Any] = {"MerchantRequestID": "m", "CheckoutRequestID": checkout,
                                "ResultCode": code, "ResultDesc": "ok"}
    if code == 0:
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": "AMOUNT"}, {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"}, {"Name": "TransactionDate", "Value": 20261124103000},
            {"Name": "PhoneNumber", "Value": phone}]}
    # The amount goes in as a raw JSON number, exactly as M-Pesa writes it (1500.00).
    return json.dumps({"Body": {"stkCallback": callback}}).replace('"AMOUNT"', amount)


def _pending(world: World, amount: int = 1500,
             accepted: StkAccepted | None = None) -> tuple[str, Payment]:
    deal = world.open_deal(amount)
    answers = [accepted] if accepted else []
    payment = world.push(world.request(deal), *answers)
    assert payment.checkout_request_id is not None
    return deal.id, payment


def _run(world: World, inbox: FakeInbox, key: str, wait: bool = True) -> str:
    return callbacks.process_callback(world.ctx, inbox, world.mpesa, key, wait_for_match=wait)


def _process(world: World, inbox: FakeInbox, raw: str, wait: bool = True) -> tuple[str, str]:
    key = inbox.put(raw)
    outcome = _run(world, inbox, key, wait)
    assert inbox.marks[key][1] == outcome or outcome == "malformed"
    return outcome, inbox.marks[key][0]


def _genuine(world: World, inbox: FakeInbox, raw: str) -> tuple[str, str]:
    """A callback M-Pesa really sent: its STK Query answers the same result code."""
    result = parse_stk_callback(json.loads(raw))
    world.mpesa.knows(result.checkout_request_id, result.result_code, result.result_desc)
    return _process(world, inbox, raw)


def test_the_success_example_credits_a_matching_payment(world: World) -> None:
    accepted = StkAccepted("29115-34620561-1", "ws_CO_191220191020363925")
    deal_id, payment = _pending(world, 1, accepted)
    raw = (EXAMPLES / "stk-callback-success.json").read_text()
    assert _genuine(world, FakeInbox(), raw) == ("credited", "processed")
    paid = world.payment(payment.id)
    assert (paid.status, paid.receipt) == (PaymentStatus.SUCCESS, "NLJ7RT61SV")
    assert world.fakes.ledger.balance(ledger.escrow(deal_id)) == 1


@pytest.mark.parametrize(("name", "checkout", "code"), [
    ("stk-callback-cancelled-1032.json", "ws_CO_21072024125243250722943992", "1032"),
    ("stk-callback-timeout-1037.json", "ws_CO_300420211403028335", "1037")])
def test_the_failure_examples_fail_a_matching_payment(
    world: World, name: str, checkout: str, code: str,
) -> None:
    deal_id, payment = _pending(world, 1, StkAccepted("m", checkout))
    assert _genuine(world, FakeInbox(), (EXAMPLES / name).read_text()) == ("failed", "processed")
    assert (world.payment(payment.id).status, world.payment(payment.id).result_code) == (
        PaymentStatus.FAILED, code)
    assert world.deal(deal_id).status is DealStatus.PENDING
    assert world.fakes.ledger.postings == {}


def test_a_replayed_callback_is_processed_again_as_no_news(world: World) -> None:
    _, payment = _pending(world)
    inbox = FakeInbox()
    assert _genuine(world, inbox, _body(payment.checkout_request_id)) == (
        "credited", "processed")
    assert _genuine(world, inbox, _body(payment.checkout_request_id)) == (
        "repeat", "processed")
    assert len(world.fakes.ledger.postings) == 1


def test_a_replayed_failure_is_no_news_either(world: World) -> None:
    _, payment = _pending(world)
    inbox = FakeInbox()
    assert _genuine(world, inbox, _body(payment.checkout_request_id, 1032))[0] == "failed"
    assert _genuine(world, inbox, _body(payment.checkout_request_id, 1032)) == (
        "repeat", "processed")


@pytest.mark.parametrize(("later", "outcome"), [
    ("failure", "contradicted"), ("other receipt", "mismatch")])
def test_a_callback_contradicting_a_settled_payment_is_flagged(
    world: World, later: str, outcome: str,
) -> None:
    _, payment = _pending(world)
    inbox = FakeInbox()
    _genuine(world, inbox, _body(payment.checkout_request_id))
    raw = (_body(payment.checkout_request_id, 1032) if later == "failure"
           else _body(payment.checkout_request_id, receipt="OTHER00000"))
    assert _process(world, inbox, raw) == (outcome, "flagged")
    assert world.payment(payment.id).receipt == RECEIPT and len(world.fakes.ledger.postings) == 1


@pytest.mark.parametrize(("amount", "phone"), [
    ("1.00", 254708374149), ("1500.50", 254708374149), ("15000", 254708374149),
    ("1500.00", 254700000009)])
def test_a_callback_that_does_not_match_the_request_is_flagged_and_moves_nothing(
    world: World, amount: str, phone: int,
) -> None:
    _, payment = _pending(world)
    raw = _body(payment.checkout_request_id, amount=amount, phone=phone)
    world.mpesa.knows(payment.checkout_request_id, "0")  # even though M-Pesa says it was paid
    assert _process(world, FakeInbox(), raw) == ("mismatch", "flagged")
    assert world.payment(payment.id).status is PaymentStatus.PENDING
    assert world.fakes.ledger.postings == {} and world.mpesa.queried == []


def test_an_unknown_checkout_waits_for_our_write_then_is_flagged(world: World) -> None:
    inbox = FakeInbox()
    key = inbox.put(_body("ws_CO_not_yet"))
    with pytest.raises(callbacks.NotYetMatched, match="unknown_payment"):
        _run(world, inbox, key, wait=True)
    assert key not in inbox.marks and inbox.items[key].status == "received"
    assert _run(world, inbox, key, wait=False) == "unknown_payment"
    assert inbox.marks[key] == ("flagged", "unknown_payment")


def test_a_callback_that_beat_our_write_is_credited_once_the_write_lands(world: World) -> None:
    inbox = FakeInbox()
    key = inbox.put(_body("ws_CO_race"))
    world.mpesa.knows("ws_CO_race", "0")
    with pytest.raises(callbacks.NotYetMatched):
        _run(world, inbox, key, wait=True)
    deal_id, _ = _pending(world, accepted=StkAccepted("m", "ws_CO_race"))
    assert _run(world, inbox, key, wait=True) == "credited"
    assert world.deal(deal_id).status is DealStatus.ACTIVE


def test_a_late_success_for_an_ended_deal_is_credited_to_the_wallet_without_needing_a_person(
    world: World,
) -> None:
    deal_id, payment = _pending(world)
    current = world.deal(deal_id)
    ended = current.apply(Trigger.EXPIRE, "system", world.fakes.clock.now(), "expired")
    world.fakes.deals.save(ended, expected_version=current.version)
    assert _genuine(world, FakeInbox(), _body(payment.checkout_request_id)) == (
        "credited_to_wallet", "processed")
    assert world.fakes.ledger.balance(ledger.wallet(world.buyer.id)) == 1500
    assert world.fakes.ledger.total() == 0


@pytest.mark.parametrize("raw", [
    "", "not json", "[]", "null", '{"Body": {}}', '{"Body": {"stkCallback": {"ResultCode": 0}}}',
    '{"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}}',
    _body("ws_CO_1").replace("1500.00", '"lots"')])
def test_a_malformed_body_is_flagged_and_touches_nothing(world: World, raw: str) -> None:
    inbox = FakeInbox()
    key = inbox.put(raw)
    assert _run(world, inbox, key) == "malformed"
    status, outcome = inbox.marks[key]
    assert status == "flagged" and outcome.startswith("malformed: ")
    assert world.fakes.ledger.postings == {} and world.fakes.payments.rows == {}
    assert world.mpesa.queried == []


def test_a_callback_id_that_was_never_stored_is_reported_missing(world: World) -> None:
    inbox = FakeInbox()
    assert _run(world, inbox, "cb404") == "missing"
    assert inbox.marks == {}


def test_a_signalling_nan_amount_is_flagged_instead_of_crashing_the_worker(
    world: World,
) -> None:
    _, payment = _pending(world)
    raw = _body(payment.checkout_request_id, amount='"sNaN"')
    outcome, status = _process(world, FakeInbox(), raw)
    assert status == "flagged" and outcome in ("malformed", "mismatch")
    assert world.fakes.ledger.postings == {}
