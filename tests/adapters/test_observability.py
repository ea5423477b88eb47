"""Logs and Sentry events carry no phone number and no secret (Sentry: a recording transport)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.transport import Transport

from adapters.observability import configure_logging, init_sentry, mask_phones, secret_values
from adapters.settings import MissingSettings, Settings

TOKEN = "cbT0ken" + "Qx9vLr2Wd4yHb6mJc1fGz7aEuKp3"  # 35 characters; never in a log or an event
URL = f"https://escrow.example.co.ke/api/mpesa/stk/callback/{TOKEN}"


@pytest.mark.parametrize("text,expected", [
    ("pay 254708374149 now", "pay 2547****149 now"),
    ("0712345678", "2547****678"),
    ("+254110123456", "2541****456"),
    ("receipt NLJ7RT61SV amount 1500", "receipt NLJ7RT61SV amount 1500"),
    ("order 12345678901234", "order 12345678901234"),
    # Digits inside an id are part of the id: a request id or an ObjectId stays greppable.
    ("request cli-e0712345678c74007913251b21f859a", "request cli-e0712345678c74007913251b21f859a"),
    ("deal 6b0f8f0712345678fae294c8", "deal 6b0f8f0712345678fae294c8"),
    # A phone set off by punctuation is still a phone, inside an id or not.
    ("ws_CO_021220260411_254722000802", "ws_CO_021220260411_2547****802"),
    ("phone=254712345678&x=1", "phone=2547****678&x=1"),
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


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.strip().splitlines() if line.startswith("{")]


def test_the_callback_token_is_scrubbed_from_every_log_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", secret_values(Settings(mpesa_callback_token=TOKEN)))
    capsys.readouterr()
    # werkzeug's access line, as its dev server writes it (message with %-arguments)
    logging.getLogger("werkzeug").info('%s - - [%s] "%s" %s -', "196.201.214.200",
                                       "24/Nov/2026 10:30:00",
                                       f"POST /api/mpesa/stk/callback/{TOKEN} HTTP/1.1", 200)
    # an exception whose message holds the URL, and one that holds the bare token
    try:
        raise RuntimeError(f"could not store the callback posted to {URL}")
    except RuntimeError:
        logging.getLogger("api.callbacks").exception("intake failed for %s", URL)
    logging.getLogger("api.callbacks").warning("token in use: %s", TOKEN)
    err = capsys.readouterr().err
    assert TOKEN not in err
    records = _json_lines(err)
    assert len(records) == 3
    assert "/api/mpesa/stk/callback/[redacted]" in records[0]["event"]
    assert "RuntimeError" in records[1]["exception"]
    assert "[redacted]" in records[2]["event"]


def test_gunicorns_own_loggers_are_scrubbed_too() -> None:
    """gunicorn's access and error loggers have their own handlers (no propagation)."""
    import io

    configure_logging("INFO", [TOKEN])
    stream = io.StringIO()
    access = logging.getLogger("gunicorn.access")
    handler = logging.StreamHandler(stream)
    access.addHandler(handler)
    access.propagate = False
    try:
        access.info('%(h)s "%(r)s" %(s)s', {"h": "10.0.0.5", "s": "200",
                                          "r": f"POST /api/mpesa/b2c/result/{TOKEN} HTTP/1.1"})
        try:
            raise ValueError(f"bad request line for {URL}")
        except ValueError:
            logging.getLogger("gunicorn.error").addHandler(handler)
            logging.getLogger("gunicorn.error").exception("Error handling request %s", URL)
    finally:
        access.removeHandler(handler)
        logging.getLogger("gunicorn.error").removeHandler(handler)
    written = stream.getvalue()
    assert TOKEN not in written
    assert "/api/mpesa/b2c/result/[redacted]" in written and "ValueError" in written


def test_sentry_events_from_a_callback_request_carry_no_token() -> None:
    """The request URL, breadcrumbs, the exception and log parameters, on a real Flask app."""
    from flask import Flask, request
    from sentry_sdk.integrations.flask import FlaskIntegration

    settings = Settings(sentry_dsn="https://public@sentry.invalid/1", mpesa_callback_token=TOKEN)
    assert init_sentry(settings, FlaskIntegration())
    transport = Recording()
    sentry_sdk.get_client().transport = transport
    app = Flask("scrub-test")

    @app.post("/api/mpesa/stk/callback/<token>")
    def callback(token: str) -> str:
        logging.getLogger("api.callbacks").info("callback on %s", request.url)  # breadcrumb
        logging.getLogger("api.callbacks").error("refused %s (%s)", request.path, token)  # event
        raise RuntimeError(f"cannot store the callback from {request.url}")  # event

    try:
        response = app.test_client().post(f"/api/mpesa/stk/callback/{TOKEN}", json={"Body": {}})
        assert response.status_code == 500
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
    assert len(transport.events) >= 2, transport.events
    text = json.dumps(transport.events, default=str)
    assert TOKEN not in text
    crashed = next(e for e in transport.events if e.get("exception"))
    assert crashed["request"]["url"].endswith("/api/mpesa/stk/callback/[redacted]")
    assert any("/api/mpesa/stk/callback/[redacted]" in (b.get("message") or "")
               for b in crashed["breadcrumbs"]["values"])


def test_extra_fields_reach_the_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    capsys.readouterr()
    logging.getLogger("adapters.emitter").error("a settled deal's posting cannot be written",
                                                extra={"alert": True, "deal": "d-1"})
    record = _json_lines(capsys.readouterr().err)[-1]
    assert record["alert"] is True and record["deal"] == "d-1"


def test_jwts_are_scrubbed_from_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    capsys.readouterr()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    logging.getLogger("api").warning("bad token %s", jwt, extra={"url": f"/x?token={jwt}"})
    err = capsys.readouterr().err
    assert "eyJ" not in err and err.count("[redacted]") == 2


BEAT_WITH_SENTRY = """
import json, sentry_sdk
from celery import signals
from workers import celery_app
from tests.adapters.test_observability import Recording, URL
signals.beat_init.send(sender=celery_app.app)
client = sentry_sdk.get_client()
transport = Recording()
client.transport = transport
sentry_sdk.capture_message("beat could not enqueue for 254708374149 via " + URL)
sentry_sdk.flush()
print(json.dumps({"active": client.is_active(), "events": transport.events}, default=str))
"""


def test_beat_starts_sentry_with_the_scrubber() -> None:
    """A real process, as ``celery beat`` starts: beat_init (not celeryd_init) fires there."""
    import os
    import subprocess
    import sys

    from tests.stack import ROOT

    done = subprocess.run(
        [sys.executable, "-c", BEAT_WITH_SENTRY], cwd=ROOT, capture_output=True, text=True,
        timeout=60, check=True,
        env={**os.environ, "APP_ENV": "test", "SENTRY_DSN": "https://public@sentry.invalid/1",
             "MPESA_CALLBACK_TOKEN": TOKEN})
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["active"], "beat did not start Sentry"
    text = json.dumps(report["events"])
    assert report["events"] and TOKEN not in text and "254708374149" not in text
    assert "2547****149" in text and "/api/mpesa/stk/callback/[redacted]" in text


CURRENT = "Old-Pa55word-9f3k"  # what a password change sends; neither may reach Sentry or a log
NEW = "New-Pa55word-7q2m"
# Kept out of the view's source: a frame's context lines show the source around it.
OTHER_SECRETS = {"clientSecret": "Cl1ent-S3cret-value", "mpesaPasskeyValue": "Pa55key-value-xyz",
                 "SecurityCredentialB64": "Cr3dential-value-xyz"}
REFRESH_VALUE = "opaque-refresh-value"
HEADER_VALUE = "Bearer opaque-header-value"


def test_sentry_events_from_a_password_change_carry_neither_password() -> None:
    """A ``PUT /api/users/me/password`` body as the Flask integration records it (request
    data), the same fields logged (a breadcrumb's data) and set as extra, and a frame's locals:
    any key naming a password, secret, token, passkey, credential or authorization is
    scrubbed, whatever its case or prefix (``newPassword``, ``clientSecret``...)."""
    from flask import Flask, request
    from sentry_sdk.integrations.flask import FlaskIntegration

    assert init_sentry(Settings(sentry_dsn="https://public@sentry.invalid/1"), FlaskIntegration())
    transport = Recording()
    sentry_sdk.get_client().transport = transport
    app = Flask("password-scrub-test")

    @app.put("/api/users/me/password")
    def change_password() -> str:
        body = request.get_json()
        logging.getLogger("api.users").info("password change", extra=dict(body))  # breadcrumb
        sentry_sdk.set_extra("change", {"currentPassword": body["currentPassword"]})
        sentry_sdk.set_extra("clientSecret", OTHER_SECRETS["clientSecret"])
        sentry_sdk.set_extra("mpesaPasskeyValue", OTHER_SECRETS["mpesaPasskeyValue"])
        sentry_sdk.set_extra("SecurityCredentialB64", OTHER_SECRETS["SecurityCredentialB64"])
        new_password, refreshTokenValue = body["newPassword"], REFRESH_VALUE
        raise RuntimeError(f"cannot change ({len(new_password)}, {len(refreshTokenValue)})")

    try:
        response = app.test_client().put(
            "/api/users/me/password", json={"currentPassword": CURRENT, "newPassword": NEW},
            headers={"X-Authorization-Extra": HEADER_VALUE})
        assert response.status_code == 500
    finally:
        sentry_sdk.flush()
        sentry_sdk.get_client().close()
    crashed = next(e for e in transport.events if e.get("exception"))
    text = json.dumps(crashed, default=str)
    for value in (CURRENT, NEW, *OTHER_SECRETS.values(), REFRESH_VALUE, HEADER_VALUE):
        assert value not in text, value
    # the fields are there, their values are not: the request body is what the scrubber saw
    assert set(crashed["request"]["data"]) == {"currentPassword", "newPassword"}
    frame_vars = [frame.get("vars", {}) for value in crashed["exception"]["values"]
                  for frame in value["stacktrace"]["frames"]]
    assert any("new_password" in names for names in frame_vars)


def test_password_fields_logged_as_extra_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO")
    capsys.readouterr()
    fields = {"newPassword": NEW, "currentPassword": CURRENT,
              "clientSecret": OTHER_SECRETS["clientSecret"], "user": "u-1"}
    logging.getLogger("api.users").warning("password change refused", extra=fields)
    err = capsys.readouterr().err
    assert NEW not in err and CURRENT not in err and OTHER_SECRETS["clientSecret"] not in err
    record = _json_lines(err)[-1]
    assert record["newPassword"] == "[redacted]" and record["user"] == "u-1"
