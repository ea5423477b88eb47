"""Field checks shared by every Daraja body: each raises ``400.002.02 Invalid <Field>``."""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from sandbox.callback_url import is_acceptable_callback_url
from sandbox.errors import invalid_field, invalid_payload

Fields = dict[str, Any]

_DIGITS = re.compile(r"[0-9]+")
_MSISDN = re.compile(r"254[17][0-9]{8}")


def json_object(body: object) -> Fields:
    if not isinstance(body, dict):
        raise invalid_payload()
    return body


def digits(value: object) -> str | None:
    """A JSON number or digit string as its digits; anything else as None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return value
    return None


def whole_number(value: object) -> int | None:
    """A whole number given as a JSON number (``10`` or ``10.0``) or digit string (``"10"``)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    found = digits(value)
    return None if found is None else int(found)


def required_digits(fields: Fields, name: str) -> str:
    found = digits(fields.get(name))
    if found is None:
        raise invalid_field(name)
    return found


def msisdn(fields: Fields, name: str) -> str:
    """A 12-digit ``2547…``/``2541…`` phone number."""
    found = digits(fields.get(name))
    if found is None or not _MSISDN.fullmatch(found):
        raise invalid_field(name)
    return found


def shortcode(fields: Fields, name: str, accepted: Collection[str]) -> str:
    """One of the ``accepted`` shortcodes, as a number or digit string."""
    found = digits(fields.get(name))
    if found is None or found not in accepted:
        raise invalid_field(name)
    return found


def text(fields: Fields, name: str, min_length: int = 1, max_length: int | None = None) -> str:
    """A string that is not blank, of ``min_length`` to ``max_length`` characters."""
    value = fields.get(name)
    if (
        not isinstance(value, str)
        or not value.strip()
        or len(value) < min_length
        or (max_length is not None and len(value) > max_length)
    ):
        raise invalid_field(name)
    return value


def optional_text(fields: Fields, name: str, max_length: int) -> str | None:
    """Absent, null or empty gives None; otherwise a string of at most ``max_length``."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_length:
        raise invalid_field(name)
    return value


def choice(fields: Fields, name: str, allowed: Collection[str]) -> str:
    """One of ``allowed``; digit-only choices may also come as JSON numbers."""
    value = fields.get(name)
    found = digits(value) if not isinstance(value, str) else value
    if found is None or found not in allowed:
        raise invalid_field(name)
    return found


def url(fields: Fields, name: str, strict: bool) -> str:
    """A callback URL under the same rule as STK's CallBackURL (lenient or strict)."""
    value = fields.get(name)
    if not isinstance(value, str) or not is_acceptable_callback_url(value, strict):
        raise invalid_field(name)
    return value
