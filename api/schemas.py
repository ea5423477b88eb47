"""Input schemas. Unknown fields are refused, and so are keys that could reach a query."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from adapters.phones import InvalidPhone, to_msisdn
from adapters.presenters import UserSchema
from domain.deals import MAX_TEXT, MAX_TITLE, DealStatus
from domain.money import MAX_AMOUNT, MIN_AMOUNT
from domain.users import MAX_NAME, MAX_PASSWORD, MIN_PASSWORD


def _operator_keys(value: Any, path: str = "") -> list[str]:
    """Keys that look like query operators: ``$gt`` in a body, ``status[$ne]`` in a query
    string (a Mapping there: webargs' MultiDictProxy, which would drop them silently)."""
    if isinstance(value, Mapping):
        bad = [f"{path}{k}" for k in value
               if isinstance(k, str) and (k.startswith("$") or "[$" in k or "\0" in k)]
        for key, inner in value.items():
            bad += _operator_keys(inner, f"{path}{key}.")
        return bad
    if isinstance(value, list):
        return [k for item in value for k in _operator_keys(item, path)]
    return []


class Input(Schema):
    @pre_load
    def _no_operators(self, data: Any, **_: Any) -> Any:
        bad = _operator_keys(data)
        if bad:
            raise ValidationError({key: ["keys may not start with $"] for key in bad})
        return data


# What the spec promises the server takes (it takes spaces and dashes too): 07…, 7…, 2547…,
# +2547… and the 010…/011… ranges. Checked against adapters.phones by tests/unit.
PHONE_PATTERN = r"^(\+254|254|0)?(7[0-9]{8}|1(0[0-8]|1[0-9])[0-9]{6})$"
# The server strips text before it counts it: blank is empty.
NOT_BLANK = r"\S"


def _text(low: int, high: int, **kwargs: Any) -> fields.String:
    """A string of ``low`` to ``high`` characters; with ``low`` ≥ 1, not only whitespace."""
    metadata = {"pattern": NOT_BLANK} if low else {}
    return fields.String(validate=validate.Length(low, high), metadata=metadata, **kwargs)


class Phone(fields.String):
    """Any common way of writing a Kenyan mobile number → ``2547XXXXXXXX``."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": PHONE_PATTERN, "example": "0708374149",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return to_msisdn(text)
        except InvalidPhone as error:
            raise ValidationError(f"{error}; use 07XXXXXXXX or 2547XXXXXXXX") from None




def _valid_unicode(text: str) -> None:
    """A lone surrogate (``"\\ud800"``: legal in JSON) cannot be encoded, so an email holding
    one could not be normalised, hashed, stored or compared: refused here, not a 500."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("not valid Unicode text (a lone surrogate)") from None


class RegisterIn(Input):
    email = fields.Email(required=True, validate=_valid_unicode)
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))
    firstName = _text(1, MAX_NAME, required=True)
    lastName = _text(1, MAX_NAME, required=True)
    role = fields.String(required=True, validate=validate.OneOf(["buyer", "seller"]))
    phone = Phone(allow_none=True)


class LoginIn(Input):
    email = fields.String(required=True, validate=[validate.Length(1, 320), _valid_unicode])
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(1, MAX_PASSWORD))


class LogoutIn(Input):
    refreshToken = fields.String(validate=validate.Length(1, 4096))


def _proof_password() -> fields.String:
    return fields.String(load_only=True, validate=validate.Length(1, MAX_PASSWORD), metadata={
        "description": "your password: needed with a refreshed (non-fresh) access token to "
                       "use a phone other than the profile's"})


class ProfileIn(Input):
    firstName = _text(1, MAX_NAME)
    lastName = _text(1, MAX_NAME)
    phone = Phone(allow_none=True, metadata={
        "description": "a new phone needs a fresh sign-in or the password"})
    password = _proof_password()


class PasswordChangeIn(Input):
    currentPassword = fields.String(required=True, load_only=True,
                                    validate=validate.Length(1, MAX_PASSWORD))
    newPassword = fields.String(required=True, load_only=True,
                                validate=validate.Length(MIN_PASSWORD, MAX_PASSWORD))


class DealIn(Input):
    OPENAPI_EXTRA = {"oneOf": [{"required": ["sellerEmail"]}, {"required": ["sellerId"]}]}
    title = _text(1, MAX_TITLE, required=True)
    description = _text(1, MAX_TEXT, required=True)
    amount = fields.Integer(strict=True, required=True,
                            validate=validate.Range(MIN_AMOUNT, MAX_AMOUNT),
                            metadata={"description": "whole Kenyan shillings"})
    sellerEmail = fields.Email(metadata={
        "description": "a registered seller's (else 422); exactly one of sellerEmail, sellerId"})
    sellerId = fields.String(validate=validate.Length(1, 64),
                             metadata={"description": "a registered seller's id (else 422)"})
    dueDate = fields.AwareDateTime(default_timezone=UTC, allow_none=True,
                                   metadata={"description": "in the future (else 422)"})
    terms = fields.String(validate=validate.Length(0, MAX_TEXT), allow_none=True)
    inspectionDays = fields.Integer(strict=True, validate=validate.Range(1, 30))

    @validates_schema
    def _one_seller(self, data: dict[str, Any], **_: Any) -> None:
        if ("sellerEmail" in data) == ("sellerId" in data):
            raise ValidationError("give exactly one of sellerEmail and sellerId", "sellerEmail")


class DealUpdateIn(Input):
    OPENAPI_EXTRA = {"minProperties": 1}
    title = _text(1, MAX_TITLE)
    description = _text(1, MAX_TEXT)
    amount = fields.Integer(strict=True, validate=validate.Range(MIN_AMOUNT, MAX_AMOUNT))
    dueDate = fields.AwareDateTime(default_timezone=UTC, allow_none=True,
                                   metadata={"description": "in the future (else 422)"})
    terms = fields.String(validate=validate.Length(0, MAX_TEXT), allow_none=True)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if not data:
            raise ValidationError("nothing to change", "_schema")


class DealListArgs(Input):
    status = fields.String(validate=validate.OneOf([s.value for s in DealStatus]))
    role = fields.String(validate=validate.OneOf(["buyer", "seller"]))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class PayIn(Input):
    phone = Phone(required=True, metadata={"example": "0708374149"})


class SessionOut(Schema):
    user = fields.Nested(UserSchema)
    accessToken = fields.String()
    refreshToken = fields.String()


class TokensOut(Schema):
    accessToken = fields.String()
    refreshToken = fields.String()


class LineOut(Schema):
    account = fields.String()
    amount = fields.Integer()


class PostingOut(Schema):
    key = fields.String()
    kind = fields.String()
    lines = fields.List(fields.Nested(LineOut))
    memo = fields.String(allow_none=True)
    createdAt = fields.DateTime(attribute="created_at")


class LedgerOut(Schema):
    postings = fields.List(fields.Nested(PostingOut))
    balances = fields.Dict(keys=fields.String(), values=fields.Integer())
    sum = fields.Integer(metadata={"description": "always 0: every posting is balanced"})


class DisputeIn(Input):
    reason = _text(2, 2_000, required=True)


class ResolveIn(Input):
    outcome = fields.String(required=True, validate=validate.OneOf(["release", "refund", "split"]))
    sellerAmount = fields.Integer(strict=True, validate=validate.Range(1, 250_000))
    note = fields.String(validate=validate.Length(0, 2_000), allow_none=True)


class WithdrawalIn(Input):
    amount = fields.Integer(strict=True, required=True, validate=validate.Range(10, 250_000),
                            metadata={"description": "whole shillings; M-Pesa pays 10 to 250000"})
    phone = Phone(required=True, metadata={
        "example": "0708374149",
        "description": "a phone other than the profile's needs a fresh sign-in or the password"})
    password = _proof_password()


class WalletEntryOut(Schema):
    key = fields.String()
    kind = fields.String()
    amount = fields.Integer(metadata={"description": "+ into the wallet, - out of it"})
    memo = fields.String(allow_none=True)
    dealId = fields.String(allow_none=True)
    createdAt = fields.DateTime()


class WalletOut(Schema):
    balance = fields.Integer()
    currency = fields.String()
    entries = fields.List(fields.Nested(WalletEntryOut))


class NotificationArgs(Input):
    unread = fields.Boolean(load_default=False)
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    limit = fields.Integer(load_default=20, validate=validate.Range(1, 100))


class CountOut(Schema):
    updated = fields.Integer()
