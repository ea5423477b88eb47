"""SandboxConfig.from_env, identifier formats, and ``python -m sandbox`` start and stop."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import threading
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from sandbox.config import PUBLIC_SANDBOX_PASSKEY, SandboxConfig
from sandbox.ids import EAT, checkout_request_id, receipt_number
from sandbox.stk import PushStore
from sandbox.validation import PushRequest

REPOSITORY = Path(__file__).resolve().parents[2]


def test_defaults_when_the_environment_is_empty() -> None:
    config = SandboxConfig.from_env({})

    assert config == SandboxConfig()
    assert (config.consumer_key, config.consumer_secret) == (
        "sandbox-consumer-key", "sandbox-consumer-secret")
    assert (config.shortcode, config.passkey) == ("174379", PUBLIC_SANDBOX_PASSKEY)
    assert (config.token_ttl_s, config.expires_in) == (3600, "3599")
    assert (config.callback_delay_ms, config.latency_ms, config.fault_rate) == (300, 0, 0.0)
    assert config.oauth_fault_rate == 0.0
    assert (config.query_pending_style, config.balance_mode) == ("http500", "valueless")
    assert config.strict_callback_url is False and config.seed is None


def test_every_variable_is_read() -> None:
    config = SandboxConfig.from_env({
        "SANDBOX_CONSUMER_KEY": "k", "SANDBOX_CONSUMER_SECRET": "s", "SANDBOX_SHORTCODE": "600000",
        "SANDBOX_PASSKEY": "p", "SANDBOX_TOKEN_TTL_S": "60", "SANDBOX_CALLBACK_DELAY_MS": "10",
        "SANDBOX_LATENCY_MS": "5", "SANDBOX_FAULT_RATE": "0.25", "SANDBOX_SEED": "42",
        "SANDBOX_QUERY_PENDING_STYLE": "4999", "SANDBOX_STRICT_CALLBACK_URL": "1",
        "SANDBOX_BALANCE_MODE": "absent", "SANDBOX_OAUTH_FAULT_RATE": "0.5",
    })

    assert config == SandboxConfig(
        consumer_key="k", consumer_secret="s", shortcode="600000", passkey="p", token_ttl_s=60,
        callback_delay_ms=10, latency_ms=5, fault_rate=0.25, seed=42,
        query_pending_style="4999", strict_callback_url=True, balance_mode="absent",
        oauth_fault_rate=0.5,
    )


def test_business_variables_are_read_and_the_result_delay_follows_the_callback_delay() -> None:
    default = SandboxConfig.from_env({"SANDBOX_CALLBACK_DELAY_MS": "120"})
    config = SandboxConfig.from_env({
        "SANDBOX_B2C_SHORTCODE": "600992", "SANDBOX_INITIATOR_NAME": "apiop37",
        "SANDBOX_INITIATOR_PASSWORD": "S3cret#pw", "SANDBOX_KEY_PATH": "/k.pem",
        "SANDBOX_CERT_PATH": "/c.pem", "SANDBOX_RESULT_DELAY_MS": "40",
    })

    assert (default.b2c_shortcode, default.initiator_name) == ("600000", "testapi")
    assert default.initiator_password == "Safaricom999!*!"
    assert (default.key_path, default.cert_path, default.result_delay_s) == (None, None, 0.12)
    assert config == SandboxConfig(
        b2c_shortcode="600992", initiator_name="apiop37", initiator_password="S3cret#pw",
        key_path="/k.pem", cert_path="/c.pem", result_delay_ms=40,
    )
    assert config.result_delay_s == 0.04


@pytest.mark.parametrize(
    ("name", "value"),
    [("SANDBOX_B2C_SHORTCODE", "60000x"), ("SANDBOX_RESULT_DELAY_MS", "-5"),
     ("SANDBOX_RESULT_DELAY_MS", "soon"), ("SANDBOX_CERT_PATH", "/only-the-cert.pem"),
     ("SANDBOX_TOKEN_TTL_S", "soon"), ("SANDBOX_TOKEN_TTL_S", "0"), ("SANDBOX_FAULT_RATE", "2"),
     ("SANDBOX_OAUTH_FAULT_RATE", "-0.1"), ("SANDBOX_OAUTH_FAULT_RATE", "often"),
     ("SANDBOX_QUERY_PENDING_STYLE", "http404"), ("SANDBOX_BALANCE_MODE", "zero"),
     ("SANDBOX_STRICT_CALLBACK_URL", "maybe"), ("SANDBOX_SHORTCODE", "17437a"),
     ("SANDBOX_CALLBACK_DELAY_MS", "-1")],
)
def test_bad_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        SandboxConfig.from_env({name: value})


def test_checkout_request_id_format() -> None:
    moment = datetime(2024, 7, 21, 12, 52, 43, 250_000, tzinfo=EAT)

    assert checkout_request_id(moment, "254722943992") == "ws_CO_21072024125243250722943992"


@pytest.mark.parametrize(
    ("day", "prefix"),
    [(date(2019, 12, 19), "NLJ"), (date(2024, 7, 6), "SG6"), (date(2017, 1, 31), "LAV")],
)
def test_receipt_number_follows_the_date_pattern(day: date, prefix: str) -> None:
    assert re.fullmatch(rf"{prefix}[A-Z0-9]{{7}}", receipt_number(day))


def test_checkout_ids_made_in_the_same_millisecond_stay_unique(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen = datetime(2024, 7, 21, 12, 52, 43, 250_000, tzinfo=EAT)
    monkeypatch.setattr("sandbox.stk.now_eat", lambda: frozen)
    store = PushStore(answer_delay_s=0)
    request = PushRequest("174379", "CustomerPayBillOnline", 10, "254722943992", "254722943992",
                          "174379", "http://127.0.0.1/cb", "REF", "desc")

    ids = [store.create(request).checkout_request_id for _ in range(3)]

    assert ids == ["ws_CO_21072024125243250722943992", "ws_CO_21072024125243251722943992",
                   "ws_CO_21072024125243252722943992"]


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_module_entry_point_serves_and_stops_cleanly(stop_signal: signal.Signals) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0"],
        cwd=REPOSITORY, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = _listening_url(process)
        assert requests.get(f"{url}/sandbox/health", timeout=5).json() == {"status": "ok"}
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _listening_url(process: subprocess.Popen[str]) -> str:
    """Read stderr (in a thread, with a deadline) until the 'listening on' line appears."""
    found: list[str] = []
    listening = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            match = re.search(r"listening on (http://\S+)", line)
            if match and not found:
                found.append(match.group(1))
                listening.set()

    threading.Thread(target=read, daemon=True).start()
    assert listening.wait(timeout=10), "the sandbox never logged that it was listening"
    return found[0]
