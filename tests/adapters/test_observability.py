"""Logs and Sentry events carry no phone number and no secret (Sentry: a recording transport)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from adapters.observability import configure_logging, init_sentry, mask_phones
from adapters.settings import MissingSettings, Settings


@pytest.mark.parametrize("text,expected", [
    ("pay 254708374149 now", "pay 2547****149 now"),
    ("0712345678", "2547****678"),
    ("+254110123456", "2541****456"),
    ("receipt NLJ7RT61SV amount 1500", "receipt NLJ7RT61SV amount 1500"),
    ("order 12345678901234", "order 12345678901234"),
])
def test_phone_numbers_are_masked_in_text(text: str, expected: str) -> None:
    assert mask_phones(text) == expected


def test_log_lines_are_json_with_phones_masked(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    logging.getLogger("escrow.test").info("stk push to 254708374149 accepted")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["event"] == "stk push to 2547****149 accepted"
    assert record["level"] == "info" and "timestamp" in record


class Recording(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


def _fail_a_push(phone: str, access_token: str) -> None:
    PhoneNumber = phone  # Daraja's own key name: the scrubber knows it
    note = f"pushing to {phone}"
    raise RuntimeError(f"STK push to {PhoneNumber} failed ({note}, token {access_token[:3]})")


def test_sentry_events_are_scrubbed_of_phones_and_secrets() -> None:
    settings = Settings(sentry_dsn="https://public@sentry.invalid/1")
    assert init_sentry(settings)
    transport = Recording()
    sentry_sdk.get_client().transport = transport
    try:
        _fail_a_push("2547" + "08374149", "eyJ" + "secret")
    except RuntimeError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()
    sentry_sdk.get_client().close()
    text = json.dumps(transport.events)
    assert transport.events, "nothing was captured"
    assert "254708374149" not in text and "eyJsecret" not in text
    assert "2547****149" in text


def test_production_refuses_to_start_without_its_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    for name in ("MONGO_URL", "JWT_SECRET_KEY", "SENTRY_DSN", "MPESA_PASSKEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(MissingSettings) as stopped:
        Settings.from_env()
    assert "JWT_SECRET_KEY" in str(stopped.value) and "MPESA_PASSKEY" in str(stopped.value)


def test_secrets_never_show_in_the_settings_repr() -> None:
    settings = Settings(jwt_secret_key="s3cret-jwt", mpesa_passkey="s3cret-pass",
                        mpesa_callback_token="s3cret-token")
    assert "s3cret" not in repr(settings)
