"""Kenyan mobile numbers, normalised the way Daraja wants them (2547XXXXXXXX / 2541XXXXXXXX)."""

from __future__ import annotations

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType


class InvalidPhone(ValueError):
    pass


def to_msisdn(raw: str) -> str:
    """``07…``, ``7…``, ``+2547…``, ``2547…`` (and the 01… range) → ``2547XXXXXXXX``."""
    text = raw.strip().replace(" ", "").replace("-", "")
    if text.isdigit() and len(text) == 9 and text[0] in "71":
        text = "0" + text
    if text.isdigit() and text.startswith("254"):
        text = "+" + text
    try:
        number = phonenumbers.parse(text, "KE")
    except NumberParseException:
        raise InvalidPhone("not a phone number") from None
    if number.country_code != 254 or not phonenumbers.is_valid_number(number):
        raise InvalidPhone("not a valid Kenyan number")
    if phonenumbers.number_type(number) not in (
        PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise InvalidPhone("not a mobile number")
    msisdn = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    if len(msisdn) != 12 or msisdn[3] not in "71":
        raise InvalidPhone("M-Pesa takes 2547… and 2541… numbers only")
    return msisdn
