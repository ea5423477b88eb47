"""``{"Result": …}`` bodies (B2C, queue timeout, Transaction Status, Reversal), read by Key."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.mpesa import MalformedCallback, StatusVerdict, parse_result, status_verdict

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures/daraja"  # provenance: its README


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(), parse_float=Decimal)


def test_a_b2c_success_reads_every_parameter_by_key() -> None:
    report = parse_result(_example("b2c-result-success.json"))
    assert report.succeeded and report.result_code == "0"
    assert report.originator_conversation_id == "53e3-4aa8-9fe0-8fb5e4092cdd3533373"
    assert report.transaction_id == "SG632NMUAB"
    assert report.parameters["TransactionAmount"] == 10
    assert report.parameters["B2CUtilityAccountAvailableFunds"] == Decimal("8959269.60")
    assert report.parameters["B2CRecipientIsRegisteredCustomer"] == "Y"


def test_a_b2c_failure_has_its_code_and_no_parameters() -> None:
    report = parse_result(_example("b2c-result-failure.json"))
    assert not report.succeeded and report.result_code == "2001"
    assert report.parameters == {}


def test_reordered_parameters_read_the_same() -> None:
    body = _example("b2c-result-success.json")
    body["Result"]["ResultParameters"]["ResultParameter"].reverse()
    assert parse_result(body).parameters == parse_result(
        _example("b2c-result-success.json")).parameters


def test_a_transaction_status_result_names_the_original_and_says_completed() -> None:
    report = parse_result(_example("transaction-status-result.json"))
    assert report.parameters["OriginatorConversationID"] == "3211-416020-3"
    assert report.parameters["ReceiptNo"] == "MBN31H462N"
    assert report.parameters["DebitPartyName"] == "600310 - Safaricom333"  # the first of two
    assert "TransactionReason" not in report.parameters  # a Key without a Value
    assert status_verdict(report) is StatusVerdict.COMPLETED


def test_a_reversal_result_with_numbers_where_strings_might_be_parses() -> None:
    report = parse_result(_example("reversal-result.json"))
    assert report.succeeded and report.parameters["TransCompletedTime"] == 20211114132711
    assert report.parameters["OriginalTransactionID"] == "SKC82PACB8"


@pytest.mark.parametrize(("code", "state", "verdict"), [
    ("0", "Completed", StatusVerdict.COMPLETED),
    ("0", "Declined", StatusVerdict.FAILED),
    ("0", "Expired", StatusVerdict.FAILED),
    ("0", "Pending Authorized", StatusVerdict.UNKNOWN),
    ("0", None, StatusVerdict.UNKNOWN),
    ("2032", None, StatusVerdict.UNKNOWN),
    ("2001", None, StatusVerdict.UNKNOWN),  # the query failed: proves nothing about the payout
    ("R000002", None, StatusVerdict.UNKNOWN),
])
def test_status_verdicts(code: str, state: str | None, verdict: StatusVerdict) -> None:
    parameters = [] if state is None else [{"Key": "TransactionStatus", "Value": state}]
    body = {"Result": {"ResultCode": code, "ResultDesc": "x", "OriginatorConversationID": "q1",
                       "ResultParameters": {"ResultParameter": parameters}}}
    assert status_verdict(parse_result(body)) is verdict


def test_a_single_parameter_object_and_a_reference_item_list_are_both_accepted() -> None:
    body = {"Result": {"ResultCode": 0, "OriginatorConversationID": "o",
                       "ResultParameters": {"ResultParameter": {"Key": "Amount", "Value": 5}},
                       "ReferenceData": {"ReferenceItem": [{"Key": "Occasion"}]}}}
    assert parse_result(body).parameters == {"Amount": 5}


@pytest.mark.parametrize("body", [{}, {"Result": []}, {"Result": {"ResultCode": 0}},
                                  {"Result": {"OriginatorConversationID": "o"}}, "x"])
def test_malformed_results_are_refused(body: Any) -> None:
    with pytest.raises(MalformedCallback):
        parse_result(body)
