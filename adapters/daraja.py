"""The Daraja client: OAuth with a shared token cache, STK push, B2C, Transaction Status."""

from __future__ import annotations

import logging
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
# Refused before anything was created: safe to send again later.
TRANSIENT = {"500.003.02", "500.003.03", "500.002.1001", "500.003.1001"}


class DarajaError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class DarajaClient:
    def __init__(self, settings: Settings, tokens: TokenCache,
                 session: requests.Session | None = None) -> None:
        self._s = settings
        self._tokens = tokens
        self._http = session or requests.Session()
        self._timeout = (settings.mpesa_connect_timeout_s, settings.mpesa_read_timeout_s)
        self._security_credential: str | None = None

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        timestamp, password = stk_credentials(
            self._s.mpesa_shortcode, self._s.mpesa_passkey, datetime.now(UTC))
        body = {
            "BusinessShortCode": self._s.mpesa_shortcode, "Password": password,
            "Timestamp": timestamp, "TransactionType": self._s.mpesa_transaction_type,
            "Amount": payment.amount, "PartyA": payment.phone, "PartyB": self._s.mpesa_shortcode,
            "PhoneNumber": payment.phone, "CallBackURL": self._s.callback_url("stk/callback"),
            "AccountReference": account_reference, "TransactionDesc": "Escrow deal",
        }
        answer = self._call("/mpesa/stkpush/v1/processrequest", body)
        if str(answer.get("ResponseCode")) != "0" or not answer.get("CheckoutRequestID"):
            raise GatewayRejected(str(answer.get("ResponseCode")), str(answer))
        return StkAccepted(str(answer.get("MerchantRequestID", "")),
                           str(answer["CheckoutRequestID"]))

    def query(self, payment: Payment) -> StkStatus:
        """STK Query. Both "still processing" forms mean pending, never failed:
        HTTP 500 ``500.001.1001`` "The transaction is being processed", and HTTP 200
        ``ResultCode "4999"``."""
        timestamp, password = stk_credentials(
            self._s.mpesa_shortcode, self._s.mpesa_passkey, datetime.now(UTC))
        body = {"BusinessShortCode": self._s.mpesa_shortcode, "Password": password,
                "Timestamp": timestamp, "CheckoutRequestID": payment.checkout_request_id}
        try:
            answer = self._call("/mpesa/stkpushquery/v1/query", body)
        except GatewayUnavailable as error:
            if "being processed" in str(error).lower():
                return StkStatus(pending=True)
            raise
        code = normalise_code(answer.get("ResultCode")) if "ResultCode" in answer else None
        if code is None or code == STILL_PROCESSING:
            return StkStatus(pending=True)
        return StkStatus(False, code, str(answer.get("ResultDesc") or ""))

    def pay(self, payout: Payout) -> str:
        """B2C v3: our OriginatorConversationID makes a second send of it a refused duplicate."""
        body = {
            "OriginatorConversationID": payout.originator_conversation_id,
            "InitiatorName": self._s.mpesa_initiator_name,
            "SecurityCredential": self._credential(), "CommandID": "BusinessPayment",
            "Amount": payout.amount, "PartyA": self._s.mpesa_b2c_shortcode,
            "PartyB": payout.phone, "Remarks": "Escrow wallet withdrawal",
            "QueueTimeOutURL": self._s.callback_url("b2c/timeout"),
            "ResultURL": self._s.callback_url("b2c/result"), "Occassion": f"payout {payout.id}",
        }
        try:
            answer = self._call("/mpesa/b2c/v3/paymentrequest", body)
        except GatewayUnavailable as error:
            if "duplicate originatorconversationid" in str(error).lower():
                # Sent before (we crashed before recording it): only a status query can tell.
                raise GatewayOutcomeUnknown(str(error)) from error
            raise
        return str(answer.get("ConversationID") or "")

    def query_status(self, payout: Payout) -> str:
        body = {
            "Initiator": self._s.mpesa_initiator_name, "SecurityCredential": self._credential(),
            "CommandID": "TransactionStatusQuery",
            "OriginalConversationID": payout.originator_conversation_id,
            "PartyA": self._s.mpesa_b2c_shortcode, "IdentifierType": "4",
            "ResultURL": self._s.callback_url("status/result"),
            "QueueTimeOutURL": self._s.callback_url("status/timeout"),
            "Remarks": "Escrow payout status", "Occasion": f"payout {payout.id}",
        }
        answer = self._call("/mpesa/transactionstatus/v1/query", body)
        return str(answer.get("OriginatorConversationID") or "")

    def _credential(self) -> str:
        if self._security_credential is None:
            self._security_credential = credential_for(self._s)
        return self._security_credential

    def _call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with a bearer token; refresh the token once if Daraja says it is invalid."""
        for attempt in (1, 2):
            token = self._tokens.get(self._fetch_token)
            try:
                return self._post(path, body, token)
            except DarajaError as error:
                if error.code in INVALID_TOKEN and attempt == 1:
                    self._tokens.forget(token)
                    continue
                raise _classify(error) from error
        raise AssertionError("unreachable")

    def _post(self, path: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        try:
            response = self._http.post(
                self._s.mpesa_base_url.rstrip("/") + path, json=body, timeout=self._timeout,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except requests.RequestException as error:
            if _never_sent(error):
                raise GatewayUnavailable(f"cannot reach M-Pesa: {type(error).__name__}") from error
            # Sent, but no answer: M-Pesa may have acted. Never send it again blindly.
            raise GatewayOutcomeUnknown(f"no answer from M-Pesa: {type(error).__name__}") from error
        return _json_or_error(response)

    def _fetch_token(self) -> tuple[str, int]:
        try:
            response = self._http.get(
                self._s.mpesa_base_url.rstrip("/") + "/oauth/v1/generate",
                params={"grant_type": "client_credentials"}, timeout=self._timeout,
                auth=(self._s.mpesa_consumer_key, self._s.mpesa_consumer_secret),
            )
        except requests.RequestException as error:
            raise GatewayUnavailable(f"cannot reach M-Pesa OAuth: {error}") from error
        if response.status_code != 200:
            # Daraja answers bad credentials with an empty 400: a configuration error.
            raise GatewayRejected("OAUTH", f"OAuth refused with HTTP {response.status_code}")
        data = response.json()
        return str(data["access_token"]), int(str(data.get("expires_in", "3599")))


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


def _classify(error: DarajaError) -> Exception:
    message = error.message.lower()
    if "unable to lock subscriber" in message:
        return PhoneBusy(str(error))  # a prompt is open on the phone: nothing was created
    if "being processed" in message:
        return GatewayUnavailable(str(error))  # STK Query's older "pending" form
    if error.code in TRANSIENT or error.status in (502, 503, 504):
        # includes "Duplicate OriginatorConversationID." (500.002.1001): pay() tells it apart
        return GatewayUnavailable(str(error))
    return GatewayRejected(error.code, error.message)
