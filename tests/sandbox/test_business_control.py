"""Control endpoints for B2C, Transaction Status and Reversal: request log, callbacks, reset."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.business_harness import (
    B2C_PATHS,
    REVERSAL_PATH,
    STATUS_PATH,
    BusinessTestClient,
)
from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import GOOD_PHONE, CallbackRecorder, wait_until


def test_request_log_has_the_payee_and_originator_id(business: BusinessTestClient) -> None:
    v3 = business.accepted_b2c(PartyB="254711000777")
    v1 = business.accepted_b2c("v1")
    refused = business.b2c(OriginatorConversationID=v3)
    business.status(OriginalConversationID=v3)
    business.reversal(TransactionID="SKC82PACB8")

    items = business.daraja.control("/requests")["items"][1:]  # after the OAuth call

    assert [(e["path"], e["status"]) for e in items] == [
        (B2C_PATHS["v3"], 200), (B2C_PATHS["v1"], 200), (B2C_PATHS["v3"], 500),
        (STATUS_PATH, 200), (REVERSAL_PATH, 200)]
    assert [e["phone"] for e in items] == ["254711000777", GOOD_PHONE, GOOD_PHONE, None, None]
    assert [e["originatorConversationId"] for e in items] == [v3, v1, v3, v3, None]
    assert all(e["checkoutRequestId"] is None for e in items)
    assert refused.json()["errorMessage"] == "Duplicate OriginatorConversationID."
    by_phone = business.daraja.control("/requests", phone="254711000777")["items"]
    assert [e["originatorConversationId"] for e in by_phone] == [v3]


def test_callback_log_tells_every_kind_apart(
    business: BusinessTestClient, callbacks: CallbackRecorder
) -> None:
    receipt = business.paid_receipt()
    checkout_request_id = business.daraja.control("/requests")["items"][-1]["checkoutRequestId"]
    paid = business.accepted_b2c()
    timed_out = business.accepted_b2c(PartyB="254700000003")
    status = business.status(TransactionID=receipt).json()["OriginatorConversationID"]
    reversal = business.reversal(TransactionID=receipt).json()["OriginatorConversationID"]
    for originator_id in (paid, timed_out, status, reversal):
        callbacks.wait_for(originator_id)

    def all_five() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = business.daraja.control("/callbacks")["items"]
        return items if len(items) == 5 else None

    items = wait_until(all_five, what="five delivery attempts")

    tagged = {(a["kind"], a["checkoutRequestId"], a["originatorConversationId"]) for a in items}
    assert tagged == {
        ("stk", checkout_request_id, None), ("b2c_result", None, paid),
        ("b2c_timeout", None, timed_out), ("status_result", None, status),
        ("reversal_result", None, reversal)}
    timeout = next(a for a in items if a["kind"] == "b2c_timeout")
    assert timeout["url"].endswith("/timeout") and timeout["status"] == 200
    assert set(timeout) == {"kind", "checkoutRequestId", "originatorConversationId", "url",
                            "body", "at", "status", "error"}


def test_reset_forgets_payouts_and_cancels_pending_results(
    start_sandbox: StartSandbox, callbacks: CallbackRecorder
) -> None:
    business = BusinessTestClient(start_sandbox(result_delay_ms=300), callbacks)
    receipt = business.paid_receipt()  # STK callbacks keep the short default delay
    pending = business.accepted_b2c()

    assert requests.post(f"{business.daraja.base_url}/sandbox/reset", timeout=5).ok

    again = business.b2c(OriginatorConversationID=pending)
    assert again.status_code == 200  # the id is free again
    business.result(again)  # due after the cancelled result would have been
    assert len(callbacks.received(pending)) == 1
    status = business.status_of(TransactionID=receipt)
    assert (status["ResultCode"], status["ResultDesc"]) == (2032, "Request not found.")
    assert business.result(business.reversal(TransactionID=receipt))["ResultCode"] == "R000002"
