"""STK credentials against fixed vectors, and callback parsing over every shape Daraja sends."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.mpesa import (
    MalformedCallback,
    account_reference,
    parse_stk_callback,
    stk_credentials,
    stk_password,
    stk_timestamp,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures/daraja"  # provenance: its README
STK_CALLBACKS = sorted(EXAMPLES.glob("stk-callback-*.json"))
PASSKEY = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919"
# Computed once, outside the code under test (printf ... | base64), and pasted here.
PASSWORD_VECTOR = ("MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiN"
                  "zJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3")


def _load(path: Path) -> Any:
    return json.loads(path.read_text(), parse_float=Decimal)


def test_the_password_matches_the_fixed_vector_and_decodes_to_the_concatenation() -> None:
    assert stk_password("174379", PASSKEY, "20160216165627") == PASSWORD_VECTOR
    assert base64.b64decode(PASSWORD_VECTOR).decode("ascii") == (
        "174379" + PASSKEY + "20160216165627")


def test_the_password_matches_the_example_push_request() -> None:
    request = _load(EXAMPLES / "stk-push-request.json")
    assert stk_password(str(request["BusinessShortCode"]), PASSKEY,
                        request["Timestamp"]) == request["Password"]


@pytest.mark.parametrize(("moment", "expected"), [
    (datetime(2016, 2, 16, 13, 56, 27, tzinfo=UTC), "20160216165627"),
    (datetime(2026, 11, 24, 22, 5, 9, tzinfo=UTC), "20261125010509"),  # next day in Nairobi
    (datetime(2026, 12, 31, 21, 0, 0, tzinfo=UTC), "20270101000000"),  # and next year
    (datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC), "20260101030000"),
    (datetime(2026, 6, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5))), "20260601150000"),
    (datetime(2026, 6, 1, 15, 0, tzinfo=timezone(timedelta(hours=3))), "20260601150000"),
])
def test_the_timestamp_is_east_africa_time_in_fourteen_digits(
    moment: datetime, expected: str,
) -> None:
    stamp = stk_timestamp(moment)
    assert stamp == expected and len(stamp) == 14 and stamp.isdigit()


def test_a_naive_time_is_refused_because_its_zone_is_unknown() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        stk_timestamp(datetime(2026, 11, 24, 22, 5, 9))


def test_timestamp_and_password_are_built_together_from_one_instant() -> None:
    timestamp, password = stk_credentials("174379", PASSKEY,
                                          datetime(2016, 2, 16, 13, 56, 27, tzinfo=UTC))
    assert (timestamp, password) == ("20160216165627", PASSWORD_VECTOR)


@pytest.mark.parametrize(("deal_id", "expected"), [
    ("6b05bbe99c9c74947a0b1fa3", "ESC47A0B1FA3"),
    ("id0001", "ESCID0001"),
    ("d-1_2.3", "ESCD123"),
    ("", "ESC"),
])
def test_the_account_reference_is_a_short_alphanumeric_code(deal_id: str, expected: str) -> None:
    assert account_reference(deal_id) == expected


@settings(database=None)  # no example database on disk: no I/O
@given(st.text(alphabet="0123456789abcdef", min_size=24, max_size=24))
def test_every_object_id_gives_a_twelve_character_reference(deal_id: str) -> None:
    reference = account_reference(deal_id)
    assert len(reference) == 12 and reference.isascii() and reference.isalnum()


def test_any_deal_id_gives_at_most_twelve_ascii_alphanumerics() -> None:
    for deal_id in ("ßßßßßßßßß", "deal-²³é"):
        reference = account_reference(deal_id)
        assert len(reference) <= 12 and reference.isascii() and reference.isalnum()


def test_every_stk_callback_example_is_on_disk() -> None:
    assert [p.name for p in STK_CALLBACKS] == [
        "stk-callback-cancelled-1032.json", "stk-callback-success.json",
        "stk-callback-timeout-1037.json"]


@pytest.mark.parametrize("path", STK_CALLBACKS, ids=lambda p: p.stem)
def test_every_stk_callback_example_parses(path: Path) -> None:
    body = _load(path)
    raw = body["Body"]["stkCallback"]
    result = parse_stk_callback(body)
    assert result.checkout_request_id == raw["CheckoutRequestID"]
    assert result.merchant_request_id == raw["MerchantRequestID"]
    assert result.result_code == str(raw["ResultCode"]) and result.result_desc == raw["ResultDesc"]
    assert result.succeeded is (raw["ResultCode"] == 0)


def test_the_success_example_reads_money_fields_by_name() -> None:
    result = parse_stk_callback(_load(EXAMPLES / "stk-callback-success.json"))
    assert result.succeeded and result.result_code == "0"
    assert (result.amount, result.receipt) == (Decimal("1.00"), "NLJ7RT61SV")
    assert isinstance(result.amount, Decimal)
    assert (result.phone, result.transaction_date) == ("254708374149", "20191219102115")


@pytest.mark.parametrize(("name", "code", "desc"), [
    ("stk-callback-cancelled-1032.json", "1032", "Request cancelled by user"),
    ("stk-callback-timeout-1037.json", "1037", "DS timeout.")])
def test_failure_examples_have_no_money_fields(name: str, code: str, desc: str) -> None:
    result = parse_stk_callback(_load(EXAMPLES / name))
    assert (result.succeeded, result.result_code, result.result_desc) == (False, code, desc)
    assert (result.amount, result.receipt, result.phone, result.transaction_date) == (
        None, None, None, None)


def _callback(code: Any = 0, items: Any = None, desc: Any = "ok") -> dict[str, Any]:
    body: dict[str, Any] = {"MerchantRequestID": "m", "CheckoutRequestID": "ws_CO_1",
                            "ResultCode": code, "ResultDesc": desc}
    if items is not None:
        body["CallbackMetadata"] = {"Item": items}
    return {"Body": {"stkCallback": body}}


AMOUNT = {"Name": "Amount", "Value": Decimal("1.00")}
RECEIPT = {"Name": "MpesaReceiptNumber", "Value": "SG632NMUAB"}
BALANCE = {"Name": "Balance"}
DATE = {"Name": "TransactionDate", "Value": 20240706224852}
PHONE = {"Name": "PhoneNumber", "Value": 254708374149}
ITEMS = [AMOUNT, RECEIPT, BALANCE, DATE, PHONE]


@pytest.mark.parametrize("items", [
    ITEMS,
    [AMOUNT, RECEIPT, DATE, PHONE],  # Balance absent (current docs sample)
    [AMOUNT, RECEIPT, {"Name": "Balance", "Value": None}, DATE, PHONE],
    [PHONE, DATE, BALANCE, RECEIPT, AMOUNT],  # reordered
    [DATE, AMOUNT, PHONE, RECEIPT],
    [*ITEMS, {"Name": "Unexpected", "Value": "x"}, {"Value": 3}, "junk"],  # unknown extras
    [{"Name": "Amount", "Value": 1}, RECEIPT, BALANCE, DATE, PHONE],  # integer Amount
    [{"Name": "Amount", "Value": "1"}, RECEIPT, BALANCE, DATE, PHONE],  # string Amount
    [AMOUNT, RECEIPT, DATE, {"Name": "PhoneNumber", "Value": "254708374149"}],
], ids=["documented", "no-balance", "balance-null", "reversed", "shuffled", "extras",
        "int-amount", "string-amount", "string-phone"])
def test_success_variants_all_read_the_same(items: list[Any]) -> None:
    result = parse_stk_callback(_callback(0, items))
    assert result.succeeded and result.amount == 1 and result.receipt == "SG632NMUAB"
    assert result.phone == "254708374149" and result.phone.isdigit()
    if any(item is DATE for item in items):
        assert result.transaction_date == "20240706224852"
        assert result.transaction_date.isdigit()


def test_a_single_item_object_instead_of_a_list_is_read_too() -> None:
    result = parse_stk_callback(_callback(0, {"Name": "Amount", "Value": 5}))
    assert (result.amount, result.receipt, result.phone) == (Decimal(5), None, None)


@pytest.mark.parametrize("amount", [Decimal("1500.00"), 1500, "1500", Decimal("1500")])
def test_the_amount_comes_back_as_an_exact_decimal(amount: Any) -> None:
    result = parse_stk_callback(_callback(0, [{"Name": "Amount", "Value": amount}]))
    assert isinstance(result.amount, Decimal) and result.amount == 1500


def test_a_fractional_amount_is_kept_exactly_so_it_can_be_refused_later() -> None:
    result = parse_stk_callback(_callback(0, [{"Name": "Amount", "Value": Decimal("1500.50")}]))
    assert result.amount == Decimal("1500.50")


@pytest.mark.parametrize("code", [0, "0", " 0 "])
def test_result_code_zero_as_int_or_string_is_success(code: Any) -> None:
    result = parse_stk_callback(_callback(code, ITEMS))
    assert result.succeeded and result.result_code == "0"


@pytest.mark.parametrize("code", [1031, 1032, 1036, 1037, 1019, 17, 26, 1001, 1025, 9999,
                                  1, 2001, "1032", "2001", "4999", "SFC_IC0003", "E3008", ""])
def test_every_other_code_is_not_a_payment(code: Any) -> None:
    result = parse_stk_callback(_callback(code, desc="[STK_CB - ]Request cancelled by user"))
    assert result.succeeded is False and result.result_code == str(code).strip()
    assert result.result_desc == "[STK_CB - ]Request cancelled by user"
    assert (result.amount, result.receipt) == (None, None)


def test_a_failure_without_callback_metadata_has_no_money_fields() -> None:
    result = parse_stk_callback(_callback(1037, None, "DS timeout user cannot be reached"))
    assert (result.result_code, result.amount, result.phone) == ("1037", None, None)


def test_missing_merchant_id_and_description_are_tolerated() -> None:
    body = {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 1032}}}
    result = parse_stk_callback(body)
    assert (result.merchant_request_id, result.result_desc, result.result_code) == (
        None, "", "1032")


@pytest.mark.parametrize("body", [
    {}, [], "text", None, {"Body": {}}, {"Body": None}, {"Body": {"stkCallback": "x"}},
    {"Body": {"stkCallback": None}},
    {"Body": {"stkCallback": {"ResultCode": 0}}},  # no CheckoutRequestID
    {"Body": {"stkCallback": {"CheckoutRequestID": "", "ResultCode": 0}}},
    {"Body": {"stkCallback": {"CheckoutRequestID": 12345, "ResultCode": 0}}},
    {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1"}}},  # no ResultCode
    {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": None}}},
    {"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": True}}},
    _callback(0, [{"Name": "Amount", "Value": "lots"}]),
], ids=["empty", "list", "string", "null", "no-callback", "body-null", "callback-string",
        "callback-null", "no-checkout", "empty-checkout", "numeric-checkout", "no-code",
        "null-code", "bool-code", "amount-not-a-number"])
def test_malformed_bodies_are_refused(body: Any) -> None:
    with pytest.raises(MalformedCallback):
        parse_stk_callback(body)
