"""An email the API cannot encode is a 422 naming the field, at sign-in and at registration."""

from __future__ import annotations

from tests.helpers import PASSWORD, Api
from tests.stack import Stack


def test_an_email_that_is_not_valid_unicode_is_refused_naming_the_field(stack: Stack) -> None:
    """A lone surrogate ("\\ud800", legal in JSON, not encodable) cannot be hashed, stored or
    compared: a 422 naming ``email``, never a 500."""
    anonymous = Api(stack.api)
    for email in ("\ud800@x.com", "a\udfff@example.com"):
        login = anonymous.post("/api/auth/login", {"email": email, "password": PASSWORD})
        register_ = anonymous.post("/api/auth/register", {
            "email": email, "password": PASSWORD, "firstName": "A", "lastName": "B",
            "role": "buyer"})
        for answer in (login, register_):
            assert answer.status_code == 422, (email, answer.status_code, answer.text)
            assert answer.json()["error"]["code"] == "VALIDATION_ERROR"
            assert "email" in answer.json()["error"]["details"]
