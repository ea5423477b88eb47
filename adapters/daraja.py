"""The Daraja client: OAuth with a shared token cache, STK push, B2C, Transaction Status."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from urllib3.exceptions import NewConnectionError

from adapters.credentials import credential_for
from adapters.redis_store import TokenCache
from adapters.settings import Settings
from domain.mpesa import normalise_code, stk_credentials
from domain.payments import Payment
from domain.payouts import Payout
from domain.ports import (
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PhoneBusy,
    StkAccepted,
    StkStatus,
)

log = logging.getLogger(__name__)

INVALID_TOKEN = {"404.001.03", "401.002.01", "400.003.01"}
STILL_PROCESSING = "4999"
# Daraja's documented refusals before anything was created: safe to send again later. Any other
# 5xx on a request that moves money may have been acted on (see docs/errors.md).
REFUSED_BEFORE_CREATING = {"500.003.02", "500.003.03"}  # spike arrest, quota
REFUSAL = "500.001.1001"  # validation refusals ("Wrong credentials", "Merchant does not exist")
OAUTH_REFUSED = (400, 401)  # bad consumer key or secret: a configuration error


class DarajaError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


@contextmanager
def _before_sending(what: str) -> Iterator[None]:
    """Nothing has left the process yet: whatever fails here, M-Pesa saw nothing.

    The token cache (Redis), OAuth, the SecurityCredential (certificate), building the body:
    all surface as GatewayUnavailable, so the caller withdraws its claim and retries. Only OAuth
    refusing our credentials stays a rejection (a configuration error)."""
    try:
        yield
    except (GatewayRejected, GatewayUnavailable):
        raise
    except Exception as error:
        raise GatewayUnavailable(f"{what} not sent: {type(error).__name__}: {error}") from error


class DarajaClient:
    def __init__(self, settings: Settings, tokens: TokenCache,
                 session: requests.Session | None = None) -> None:
        self._s = settings
        self._tokens = tokens
        self._http = session or requests.Session()
        self._timeout = (settings.mpesa_connect_timeout_s, settings.mpesa_read_timeout_s)
        self._security_credential: str | None = None

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        with _before_sending("STK push"):
            timestamp, password = stk_credentials(
                self._s.mpesa_shortcode, self._s.mpesa_passkey, datetime.now(UTC))
            body = {
                "BusinessShortCode": self._s.mpesa_shortcode, "Password": password,
                "Timestamp": timestamp, "TransactionType": self._s.mpesa_transaction_type,
                "Amount": payment.amount, "PartyA": payment.phone,
                "PartyB": self._s.mpesa_shortcode, "PhoneNumber": payment.phone,
                "CallBackURL": self._s.callback_url("stk/callback"),
                "AccountReference": account_reference, "TransactionDesc": "Escrow deal",
            }
        answer = self._call("/mpesa/stkpush/v1/processrequest", body, moves_money=True)
        if str(answer.get("ResponseCode")) != "0":
            raise GatewayRejected(str(answer.get("ResponseCode")), str(answer))
        if not answer.get("CheckoutRequestID"):  # accepted, but we cannot follow it up
            raise GatewayOutcomeUnknown(f"STK push accepted without a CheckoutRequestID: {answer}")
        return StkAccepted(str(answer.get("MerchantRequestID", "")),
                           str(answer["CheckoutRequestID"]))

    def query(self, payment: Payment) -> StkStatus:
        """STK Query. Both "still processing" forms mean pending, never failed:
        HTTP 500 ``500.001.1001`` "The transaction is being processed", and HTTP 200
        ``ResultCode "4999"``."""
        with _before_sending("STK Query"):
            timestamp, password = stk_credentials(
                self._s.mpesa_shortcode, self._s.mpesa_passkey, datetime.now(UTC))
            body = {"BusinessShortCode": self._s.mpesa_shortcode, "Password": password,
                    "Timestamp": timestamp, "CheckoutRequestID": payment.checkout_request_id}
        try:
            answer = self._call("/mpesa/stkpushquery/v1/query", body, moves_money=False)
        except GatewayUnavailable as error:
            if "being processed" in str(error).lower():
                return StkStatus(pending=True)
            raise
        code = normalise_code(answer.get("ResultCode")) if "ResultCode" in answer else None
        if code is None or code == STILL_PROCESSING:
            return StkStatus(pending=True)
        return StkStatus(False, code, str(answer.get("ResultDesc") or ""))

    def pay(self, payout: Payout) -> str:
        """B2C v3: our OriginatorConversationID makes a second send of it a refused duplicate
        (``500.002.1001 Duplicate OriginatorConversationID.``: an unknown outcome, like any
        5xx that is not a documented refusal; a status query decides)."""
        with _before_sending("B2C payment"):
            body = {
                "OriginatorConversationID": payout.originator_conversation_id,
                "InitiatorName": self._s.mpesa_initiator_name,
                "SecurityCredential": self._credential(), "CommandID": "BusinessPayment",
                "Amount": payout.amount, "PartyA": self._s.mpesa_b2c_shortcode,
                "PartyB": payout.phone, "Remarks": "Escrow wallet withdrawal",
                "QueueTimeOutURL": self._s.callback_url("b2c/timeout"),
                "ResultURL": self._s.callback_url("b2c/result"),
                "Occassion": f"payout {payout.id}",
            }
        answer = self._call("/mpesa/b2c/v3/paymentrequest", body, moves_money=True)
        return str(answer.get("ConversationID") or "")

    def query_status(self, payout: Payout) -> str:
        with _before_sending("Transaction Status query"):
            body = {
                "Initiator": self._s.mpesa_initiator_name,
                "SecurityCredential": self._credential(),
                "CommandID": "TransactionStatusQuery",
                "OriginalConversationID": payout.originator_conversation_id,
                "PartyA": self._s.mpesa_b2c_shortcode, "IdentifierType": "4",
                "ResultURL": self._s.callback_url("status/result"),
                "QueueTimeOutURL": self._s.callback_url("status/timeout"),
                "Remarks": "Escrow payout status", "Occasion": f"payout {payout.id}",
            }
        answer = self._call("/mpesa/transactionstatus/v1/query", body, moves_money=False)
        return str(answer.get("OriginatorConversationID") or "")

    def _credential(self) -> str:
        if self._security_credential is None:
            self._security_credential = credential_for(self._s)
        return self._security_credential

    def _call(self, path: str, body: dict[str, Any], moves_money: bool) -> dict[str, Any]:
        """POST with a bearer token; refresh the token once if Daraja says it is invalid."""
        for attempt in (1, 2):
            with _before_sending(path):
                token = self._tokens.get(self._fetch_token)
            try:
                return self._post(path, body, token, moves_money)
            except DarajaError as error:
                if error.code in INVALID_TOKEN and attempt == 1:
                    with _before_sending(path):  # refused: nothing was created
                        self._tokens.forget(token)
                    continue
                raise _classify(error, moves_money) from error
        raise AssertionError("unreachable")

    def _post(self, path: str, body: dict[str, Any], token: str,
              moves_money: bool) -> dict[str, Any]:
        try:
            response = self._http.post(
                self._s.mpesa_base_url.rstrip("/") + path, json=body, timeout=self._timeout,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except requests.RequestException as error:
            if _never_sent(error):
                raise GatewayUnavailable(f"cannot reach M-Pesa: {type(error).__name__}") from error
            if not moves_money:  # a read asked again does no harm
                raise GatewayUnavailable(
                    f"no answer from M-Pesa: {type(error).__name__}") from error
            # Sent, but no answer: M-Pesa may have acted. Never send it again blindly.
            raise GatewayOutcomeUnknown(f"no answer from M-Pesa: {type(error).__name__}") from error
        return _json_or_error(response)

    def _fetch_token(self) -> tuple[str, int]:
        """A new OAuth token. Only a refusal of our credentials (400/401) is a rejection; an
        outage (5xx, timeout, an unreadable answer) is transient: nothing was sent yet."""
        try:
            response = self._http.get(
                self._s.mpesa_base_url.rstrip("/") + "/oauth/v1/generate",
                params={"grant_type": "client_credentials"}, timeout=self._timeout,
                auth=(self._s.mpesa_consumer_key, self._s.mpesa_consumer_secret),
            )
        except requests.RequestException as error:
            raise GatewayUnavailable(f"cannot reach M-Pesa OAuth: {type(error).__name__}") \
                from error
        if response.status_code in OAUTH_REFUSED:
            # Daraja answers bad credentials with an empty 400: a configuration error.
            raise GatewayRejected("OAUTH", f"OAuth refused with HTTP {response.status_code}")
        if response.status_code != 200:
            raise GatewayUnavailable(f"M-Pesa OAuth answered HTTP {response.status_code}")
        try:
            data = response.json()
            return str(data["access_token"]), int(str(data.get("expires_in", "3599")))
        except (ValueError, KeyError, TypeError) as error:
            raise GatewayUnavailable("M-Pesa OAuth answered 200 without a readable token") \
                from error


def _never_sent(error: requests.RequestException) -> bool:
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = error.args[0] if error.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, ConnectionRefusedError))


def _json_or_error(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict):
        return data
    if isinstance(data, dict) and "errorCode" in data:
        raise DarajaError(response.status_code, str(data["errorCode"]),
                          str(data.get("errorMessage", "")))
    raise DarajaError(response.status_code, f"HTTP{response.status_code}",
                      response.text[:200] or "empty body")


def _classify(error: DarajaError, moves_money: bool) -> Exception:
    """One answer that is not a success, for a request that moves money or for a read."""
    message = error.message.lower()
    if "unable to lock subscriber" in message:
        return PhoneBusy(str(error))  # a prompt is open on the phone: nothing was created
    if error.code in REFUSED_BEFORE_CREATING:
        return GatewayUnavailable(str(error))
    answered_badly = error.status >= 500 or error.status == 200  # a 200 we could not read
    if error.code == REFUSAL and "being processed" not in message:
        return GatewayRejected(error.code, error.message)
    if answered_badly or "being processed" in message:
        if moves_money:  # it may have been acted on: never send it again, find out by query
            return GatewayOutcomeUnknown(str(error))
        return GatewayUnavailable(str(error))  # a read: asking again is harmless
    return GatewayRejected(error.code, error.message)
