"""STK credentials against fixed vectors, and callback parsing over every shape Daraja sends."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.mpesa import (
    MalformedCallback,
    account_reference,
    parse_stk_callback,
    stk_credentials,
    stk_password,
    stk_timestamp,
)

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "reference" / "daraja-examples"
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)


def test_the_password_matches_safaricoms_published_vector() -> None:
    expected = ("MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNz"
                "JhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3")
    assert stk_password("174379", PASSKEY, "20160216165627") == expected
    assert base64.b64decode(expected).decode() == f"174379{PASSKEY}20160216165627"


def test_the_password_matches_the_example_push_request() -> None:
    request = _example("stk-push-request.json")
    assert stk_password(str(request["BusinessShortCode"]), PASSKEY,
                        request["Timestamp"]) == request["Password"]


def test_timestamp_and_password_are_built_together_in_nairobi_time() -> None:
    utc = datetime(2026, 11, 24, 22, 5, 9, tzinfo=UTC)
    timestamp, password = stk_credentials("174379", PASSKEY, utc)
    assert timestamp == "20261125010509"  # EAT is UTC+3: already the next day
    assert password == stk_password("174379", PASSKEY, timestamp)
    other_zone = utc.astimezone(timezone(timedelta(hours=-5)))
    assert stk_timestamp(other_zone) == timestamp
    with pytest.raises(ValueError):
        stk_timestamp(datetime(2026, 11, 24, 22, 5, 9))


def test_the_account_reference_is_at_most_twelve_alphanumerics() -> None:
    reference = account_reference("6b05bbe99c9c74947a0b1fa3")
    assert len(reference) <= 12 and reference.isalnum() and reference.startswith("ESC")


def test_the_success_example_parses_by_item_name() -> None:
    result = parse_stk_callback(_example("stk-callback-success.json"))
    assert result.succeeded and result.result_code == "0"
    assert result.checkout_request_id == "ws_CO_191220191020363925"
    assert result.amount == Decimal("1.00") and result.receipt == "NLJ7RT61SV"
    assert result.phone == "254708374149" and result.transaction_date == "20191219102115"


@pytest.mark.parametrize(("name", "code"), [("stk-callback-cancelled-1032.json", "1032"),
                                            ("stk-callback-timeout-1037.json", "1037")])
def test_failure_examples_have_no_money_fields(name: str, code: str) -> None:
    result = parse_stk_callback(_example(name))
    assert not result.succeeded and result.result_code == code
    assert (result.amount, result.receipt, result.phone) == (None, None, None)


def _callback(code: Any = 0, items: list[dict[str, Any]] | None = None,
              desc: str = "ok") -> dict[str, Any]:
    body: dict[str, Any] = {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_1",
                            "ResultCode": code, "ResultDesc": desc}
    if items is not None:
        body["CallbackMetadata"] = {"Item": items}
    return {"Body": {"stkCallback": body}}


ITEMS = [{"Name": "Amount", "Value": Decimal("100.00")},
         {"Name": "MpesaReceiptNumber", "Value": "SG632NMUAB"},
         {"Name": "Balance"},
         {"Name": "TransactionDate", "Value": 20240706224852},
         {"Name": "PhoneNumber", "Value": 254708374149}]


@pytest.mark.parametrize("items", [
    ITEMS,
    [item for item in ITEMS if item["Name"] != "Balance"],  # Balance absent
    list(reversed(ITEMS)),  # reordered
    [*ITEMS, {"Name": "Unexpected", "Value": "x"}],  # an item nobody documented
    [{**ITEMS[0], "Value": 100}, *ITEMS[1:]],  # integer Amount
    [{**ITEMS[0], "Value": "100"}, *ITEMS[1:]],  # string Amount
])
def test_success_variants_all_read_the_same(items: list[dict[str, Any]]) -> None:
    result = parse_stk_callback(_callback(0, items))
    assert result.amount == 100 and result.receipt == "SG632NMUAB"
    assert result.phone == "254708374149" and result.transaction_date == "20240706224852"


@pytest.mark.parametrize("code", [0, "0", " 0 "])
def test_result_codes_are_compared_as_strings(code: Any) -> None:
    assert parse_stk_callback(_callback(code, ITEMS)).succeeded


@pytest.mark.parametrize("code", [1, 1031, 1032, 1036, 1037, 1019, 17, 26, 1001, 1025, 9999,
                                  "2001", "SFC_IC0003", "E3008", "4999"])
def test_every_other_code_is_not_a_payment(code: Any) -> None:
    result = parse_stk_callback(_callback(code, desc="[STK_CB - ]Request cancelled by user"))
    assert not result.succeeded and result.result_code == str(code)
    assert result.result_desc == "[STK_CB - ]Request cancelled by user"


@pytest.mark.parametrize("body", [
    {}, {"Body": {}}, {"Body": {"stkCallback": "x"}}, [],
    {"Body": {"stkCallback": {"ResultCode": 0}}},  # no CheckoutRequestID
    {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}},  # no ResultCode
    _callback(0, [{"Name": "Amount", "Value": "lots"}]),
])
def test_malformed_bodies_are_refused(body: Any) -> None:
    with pytest.raises(MalformedCallback):
        parse_stk_callback(body)
