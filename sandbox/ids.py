"""Generators for Daraja-looking identifiers, receipts and timestamps (daraja.md section 1.2)."""

from __future__ import annotations

import secrets
import string
import threading
import uuid
from datetime import UTC, date, datetime, timedelta, timezone

EAT = timezone(timedelta(hours=3), "EAT")

_ALPHANUMERICS = string.ascii_letters + string.digits
_UPPER_ALPHANUMERICS = string.ascii_uppercase + string.digits
_RECEIPT_FIRST_YEAR = 2017  # "L"
_RECEIPT_DAYS = "123456789ABCDEFGHIJKLMNOPQRSTUV"


def now_eat() -> datetime:
    """Kenyan local time, in which Daraja writes the timestamps inside its bodies."""
    return datetime.now(EAT)


def now_utc_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def daraja_timestamp(moment: datetime) -> str:
    """``yyyyMMddHHmmss``."""
    return moment.strftime("%Y%m%d%H%M%S")


def access_token() -> str:
    """28 random alphanumerics, like Daraja's bearer tokens."""
    return _random_text(_ALPHANUMERICS, 28)


def request_id() -> str:
    """Gateway request id in the newer style, e.g. ``1c5b-4ba8-815c-ac45c57a3db01495926``."""
    return _gateway_id(digit_count=7)


def merchant_request_id() -> str:
    """MerchantRequestID in the newer style, e.g. ``2654-4b64-97ff-b827b542881d3130``."""
    return _gateway_id(digit_count=4)


def checkout_request_id(moment: datetime, phone: str) -> str:
    """``ws_CO_`` + ddMMyyyyHHmmss + 3-digit milliseconds + the phone's last 9 digits."""
    milliseconds = moment.microsecond // 1000
    return f"ws_CO_{moment.strftime('%d%m%Y%H%M%S')}{milliseconds:03d}{phone[-9:]}"


def originator_conversation_id() -> str:
    """A generated OriginatorConversationID, e.g. ``53e3-4aa8-9fe0-8fb5e4092cdd3533373``."""
    return _gateway_id(digit_count=7)


def conversation_id(moment: datetime) -> str:
    """``AG_`` + yyyyMMdd + ``_`` + 20 lowercase hex digits."""
    return f"AG_{moment.strftime('%Y%m%d')}_{secrets.token_hex(10)}"


def receipt_number(day: date) -> str:
    """Year (L=2017), month (A=Jan), day (1-9, A=10 .. V=31), then 7 random alphanumerics."""
    return _receipt_prefix(day) + _random_text(_UPPER_ALPHANUMERICS, 7)


def placeholder_receipt(day: date) -> str:
    """The zero-filled TransactionID of non-financial results, e.g. ``SG60000000``."""
    return _receipt_prefix(day) + "0" * 7


class ReceiptBook:
    """Issues receipt numbers never issued before by this book (a reset does not forget them)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: set[str] = set()

    def issue(self, day: date) -> str:
        with self._lock:
            receipt = receipt_number(day)
            while receipt in self._issued:
                receipt = receipt_number(day)
            self._issued.add(receipt)
        return receipt


def _receipt_prefix(day: date) -> str:
    year = string.ascii_uppercase[(11 + day.year - _RECEIPT_FIRST_YEAR) % 26]
    month = string.ascii_uppercase[day.month - 1]
    return year + month + _RECEIPT_DAYS[day.day - 1]


def _gateway_id(digit_count: int) -> str:
    hex_digits = uuid.uuid4().hex
    digits = _random_text(string.digits, digit_count)
    return f"{hex_digits[0:4]}-{hex_digits[4:8]}-{hex_digits[8:12]}-{hex_digits[12:24]}{digits}"


def _random_text(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))
