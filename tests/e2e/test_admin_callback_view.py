"""The admin's view of stored callbacks masks phone numbers and names; the stored raw is intact."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from tests.helpers import database, make_admin
from tests.stack import Stack

PHONE, NAME = "254708374149", "John Doe"


def _post(stack: Stack, path: str, body: dict[str, Any]) -> None:
    answer = requests.post(f"{stack.api}/api/mpesa/{path}/{stack.callback_token}", json=body,
                           timeout=10)
    assert answer.status_code == 200, answer.text


def test_the_callback_view_masks_phones_and_names_and_keeps_the_raw_body(stack: Stack) -> None:
    admin, marker = make_admin(stack), uuid.uuid4().hex[:12]
    stk = {"Body": {"stkCallback": {
        "MerchantRequestID": f"m-{marker}", "CheckoutRequestID": f"ws_CO_{marker}",
        "ResultCode": 0, "ResultDesc": f"paid from 0{PHONE[3:]}",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": 700}, {"Name": "MpesaReceiptNumber", "Value": "TKR7Q"},
            {"Name": "PhoneNumber", "Value": int(PHONE)}]}}}}
    b2c = {"Result": {
        "ResultType": 0, "ResultCode": 0, "ResultDesc": "ok", "PartyA": PHONE,
        "OriginatorConversationID": f"o-{marker}", "ConversationID": f"c-{marker}-712345678",
        "TransactionID": "TKR7QX", "ResultParameters": {"ResultParameter": [
            {"Key": "TransactionAmount", "Value": 100},
            {"Key": "ReceiverPartyPublicName", "Value": f"{PHONE} - {NAME}"}]}}}
    _post(stack, "stk/callback", stk)
    _post(stack, "b2c/result", b2c)

    listed = admin.data("GET", "/api/admin/callbacks?status=all&limit=100")
    ours = [item for item in listed["items"] if marker in json.dumps(item)]
    assert len(ours) == 2
    shown = json.dumps(ours)
    assert PHONE not in shown and PHONE[3:] not in shown and "John" not in shown, shown
    bodies = {item["kind"]: item["body"] for item in ours}
    items = bodies["stk"]["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
    assert {"Name": "PhoneNumber", "Value": "2547****149"} in items
    assert {"Name": "Amount", "Value": 700} in items  # what is not personal is shown as sent
    assert bodies["stk"]["Body"]["stkCallback"]["ResultDesc"] == "paid from 2547****149"
    result = bodies["b2c_result"]["Result"]
    assert result["PartyA"] == "2547****149" and result["TransactionID"] == "TKR7QX"
    # Ids stay as sent, even with nine digits in a row: operators search by them.
    assert bodies["stk"]["Body"]["stkCallback"]["CheckoutRequestID"] == f"ws_CO_{marker}"
    assert result["ConversationID"] == f"c-{marker}-712345678"
    assert {"Key": "ReceiverPartyPublicName", "Value": "2547****149 - J*** D***"} \
        in result["ResultParameters"]["ResultParameter"]

    stored = database(stack).mpesa_callbacks.find({"raw": {"$regex": marker}})
    raws = [json.loads(doc["raw"]) for doc in stored]
    assert stk in raws and b2c in raws  # the evidence is kept exactly as received
