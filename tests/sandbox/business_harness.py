"""A client for B2C, Transaction Status and Reversal, with valid defaults and real credentials."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.sandbox.harness import (
    GOOD_PHONE,
    CallbackRecorder,
    DarajaTestClient,
    apply_overrides,
)

B2C_PATHS = {"v1": "/mpesa/b2c/v1/paymentrequest", "v3": "/mpesa/b2c/v3/paymentrequest"}
STATUS_PATH = "/mpesa/transactionstatus/v1/query"
REVERSAL_PATH = "/mpesa/reversal/v1/request"


def encrypt_credential(certificate_pem: bytes, password: str) -> str:
    """What a Daraja client does: RSA PKCS#1 v1.5 with the certificate's key, then base64."""
    public_key = x509.load_pem_x509_certificate(certificate_pem).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    ciphertext = public_key.encrypt(password.encode(), padding.PKCS1v15())
    return base64.b64encode(ciphertext).decode()


def new_originator_id() -> str:
    """Unique across the session: every sandbox posts to the same callback recorder."""
    return f"escrow-{uuid.uuid4().hex}"


class BusinessTestClient:
    """Wraps a ``DarajaTestClient``; results go to ``<recorder>/result``, timeouts ``/timeout``."""

    def __init__(self, daraja: DarajaTestClient, callbacks: CallbackRecorder) -> None:
        self.daraja = daraja
        self.config = daraja.config
        self.callbacks = callbacks
        self._certificate: bytes | None = None

    def certificate(self) -> bytes:
        if self._certificate is None:
            response = requests.get(f"{self.daraja.base_url}/sandbox/certificate", timeout=5)
            assert response.status_code == 200, response.text
            self._certificate = response.content
        return self._certificate

    def credential(self, password: str | None = None) -> str:
        return encrypt_credential(self.certificate(), password or self.config.initiator_password)

    def urls(self) -> dict[str, str]:
        base = self.daraja.callback_url
        return {"QueueTimeOutURL": f"{base}/timeout", "ResultURL": f"{base}/result"}

    def b2c_body(self, version: str = "v3", **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"OriginatorConversationID": new_originator_id()}
        if version == "v1":
            body = {}
        body |= {
            "InitiatorName": self.config.initiator_name,
            "SecurityCredential": self.credential(),
            "CommandID": "BusinessPayment",
            "Amount": 500,
            "PartyA": self.config.b2c_shortcode,
            "PartyB": GOOD_PHONE,
            "Remarks": "Escrow payout",
            **self.urls(),
            "Occassion" if version == "v3" else "Occasion": "Deal ESC1234",
        }
        return apply_overrides(body, overrides)

    def b2c(self, version: str = "v3", **overrides: Any) -> requests.Response:
        return self.daraja.post(B2C_PATHS[version], self.b2c_body(version, **overrides))

    def accepted_b2c(self, version: str = "v3", **overrides: Any) -> str:
        """Pay out and return the OriginatorConversationID, failing unless it was accepted."""
        return _accepted(self.b2c(version, **overrides))

    def status_body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "Initiator": self.config.initiator_name,
            "SecurityCredential": self.credential(),
            "CommandID": "TransactionStatusQuery",
            "PartyA": self.config.b2c_shortcode,
            "IdentifierType": "4",
            **self.urls(),
            "Remarks": "Reconcile",
            "Occasion": "Check",
        }
        return apply_overrides(body, overrides)

    def status(self, **overrides: Any) -> requests.Response:
        return self.daraja.post(STATUS_PATH, self.status_body(**overrides))

    def reversal_body(self, **overrides: Any) -> dict[str, Any]:
        body = {
            "Initiator": self.config.initiator_name,
            "SecurityCredential": self.credential(),
            "CommandID": "TransactionReversal",
            "Amount": 100,
            "ReceiverParty": self.config.shortcode,
            "RecieverIdentifierType": "11",
            **self.urls(),
            "Remarks": "Refund the buyer",
        }
        return apply_overrides(body, overrides)

    def reversal(self, **overrides: Any) -> requests.Response:
        return self.daraja.post(REVERSAL_PATH, self.reversal_body(**overrides))

    def result(self, response: requests.Response, count: int = 1) -> dict[str, Any]:
        """The ``Result`` object POSTed to ResultURL for this accepted request."""
        received = self.callbacks.wait_for(_accepted(response), count)
        assert all(callback.path == "/result" for callback in received), received
        return dict(received[0].body["Result"])

    def status_of(self, **overrides: Any) -> dict[str, Any]:
        """Ask Transaction Status about ``TransactionID`` and/or ``OriginalConversationID``."""
        return self.result(self.status(**overrides))

    def paid_receipt(self, amount: int = 100, phone: str = GOOD_PHONE) -> str:
        """Make an STK payment and return its MpesaReceiptNumber, from the callback."""
        checkout_request_id = self.daraja.accepted_push(Amount=amount, PhoneNumber=phone)
        [callback] = self.callbacks.wait_for(checkout_request_id)
        items = callback.body["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        return str(next(item["Value"] for item in items if item["Name"] == "MpesaReceiptNumber"))


def _accepted(response: requests.Response) -> str:
    assert response.status_code == 200, response.text
    return str(response.json()["OriginatorConversationID"])
