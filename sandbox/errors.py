"""Daraja's synchronous error envelope: ``{"requestId", "errorCode", "errorMessage"}``."""

from __future__ import annotations

from flask import Response, jsonify

from sandbox.ids import request_id as new_request_id


class DarajaError(Exception):
    """An error Daraja answers with its JSON envelope."""

    def __init__(self, status: int, code: str, message: str, request_id: str | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id or new_request_id()

    def response(self) -> tuple[Response, int]:
        body = {"requestId": self.request_id, "errorCode": self.code, "errorMessage": self.message}
        return jsonify(body), self.status


class InvalidClientCredentials(Exception):
    """Wrong consumer key or secret: Daraja answers HTTP 400 with an empty text/plain body."""


def invalid_field(field: str) -> DarajaError:
    return DarajaError(400, "400.002.02", f"Bad Request - Invalid {field}")


def invalid_payload() -> DarajaError:
    return DarajaError(400, "400.002.05", "Invalid Request Payload")


def invalid_authentication() -> DarajaError:
    return DarajaError(400, "400.008.01", "Invalid Authentication passed")


def invalid_grant_type() -> DarajaError:
    return DarajaError(400, "400.008.02", "Invalid grant type passed")


def invalid_access_token() -> DarajaError:
    return DarajaError(404, "404.001.03", "Invalid Access Token")


def resource_not_found() -> DarajaError:
    return DarajaError(404, "404.001.01", "Resource not found")


def method_not_allowed(verb: str) -> DarajaError:
    return DarajaError(405, "405.001", f"{verb} Method Not Allowed")


def wrong_credentials() -> DarajaError:
    return DarajaError(500, "500.001.1001", "Wrong credentials")


def subscriber_locked() -> DarajaError:
    return DarajaError(
        500,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber",
    )


def transaction_being_processed(checkout_request_id: str) -> DarajaError:
    """The older STK Query "pending" answer; its requestId is the CheckoutRequestID itself."""
    return DarajaError(
        500, "500.001.1001", "The transaction is being processed", request_id=checkout_request_id
    )


def spike_arrest() -> DarajaError:
    return DarajaError(500, "500.003.02", "Error Occurred: Spike Arrest Violation")


def service_unavailable() -> DarajaError:
    return DarajaError(503, "503.001.01", "Service Unavailable")


def duplicate_originator_conversation_id() -> DarajaError:
    return DarajaError(500, "500.002.1001", "Duplicate OriginatorConversationID.")


def system_internal_error() -> DarajaError:
    return DarajaError(500, "500.002.1001", "System internal error.")
