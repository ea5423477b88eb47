"""The Daraja client against the sandbox over HTTP, with the token cache in the real Redis."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from adapters.daraja import DarajaClient
from adapters.redis_store import TokenCache, connect
from adapters.settings import Settings
from devstack.services import free_port
from domain.payments import Payment
from domain.payouts import Payout
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable
from sandbox.app import create_app as create_sandbox
from sandbox.config import SandboxConfig
from tests.sandbox.harness import RunningServer
from tests.stack import Stack

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)


@pytest.fixture
def settings(stack: Stack) -> Settings:
    return Settings(redis_url=stack.env["REDIS_URL"], mpesa_base_url=stack.sandbox,
                    public_base_url=stack.api, mpesa_callback_token="not-used-here",
                    mpesa_consumer_key="sandbox-consumer-key")


def _payment(phone: str = "254708374149", amount: int = 10) -> Payment:
    return Payment(id=uuid.uuid4().hex, deal_id="d", payer_id="b", amount=amount, phone=phone,
                   created_at=NOW, updated_at=NOW, idempotency_key="k", request_hash="h")


def _oauth_calls(stack: Stack) -> int:
    items = requests.get(f"{stack.sandbox}/sandbox/requests", timeout=5).json()["items"]
    return sum(1 for item in items if item["path"].startswith("/oauth"))


def test_every_client_shares_one_cached_token(stack: Stack, settings: Settings) -> None:
    redis = connect(settings.redis_url)
    cache = TokenCache(redis, settings.mpesa_consumer_key)
    redis.delete(cache._key)
    before = _oauth_calls(stack)
    for _ in range(3):  # three "worker processes"
        client = DarajaClient(settings, TokenCache(connect(settings.redis_url),
                                                   settings.mpesa_consumer_key))
        accepted = client.push(_payment(phone=f"2547{uuid.uuid4().int % 10**8:08d}"), "ESCTEST")
        assert accepted.checkout_request_id.startswith("ws_CO_")
    assert _oauth_calls(stack) - before == 1
    ttl = redis.ttl(cache._key)
    assert 3000 < ttl < 3600 - TokenCache.MARGIN_S + 1


def test_an_invalidated_token_is_refreshed_once_and_the_call_succeeds(
    stack: Stack, settings: Settings,
) -> None:
    redis = connect(settings.redis_url)
    cache = TokenCache(redis, settings.mpesa_consumer_key)
    redis.set(cache._key, "not-a-token-the-sandbox-issued", ex=600)
    client = DarajaClient(settings, cache)
    assert client.push(_payment(phone="254711000001"), "ESCTEST").checkout_request_id
    assert redis.get(cache._key) != "not-a-token-the-sandbox-issued"


def test_a_request_daraja_refuses_is_a_permanent_rejection(settings: Settings) -> None:
    client = DarajaClient(dataclasses.replace(settings, mpesa_passkey="wrong"),
                          TokenCache(connect(settings.redis_url), settings.mpesa_consumer_key))
    with pytest.raises(GatewayRejected) as refused:
        client.push(_payment(phone="254711000002"), "ESCTEST")
    assert refused.value.code == "500.001.1001"


def test_bad_consumer_credentials_are_a_configuration_error(settings: Settings) -> None:
    wrong = dataclasses.replace(settings, mpesa_consumer_key="nope", mpesa_consumer_secret="nope")
    client = DarajaClient(wrong, TokenCache(connect(settings.redis_url), "nope"))
    with pytest.raises(GatewayRejected) as refused:
        client.push(_payment(phone="254711000003"), "ESCTEST")
    assert refused.value.code == "OAUTH"


def test_spike_arrest_is_transient(settings: Settings) -> None:
    client = DarajaClient(settings, TokenCache(connect(settings.redis_url),
                                               settings.mpesa_consumer_key))
    with pytest.raises(GatewayUnavailable):
        client.push(_payment(phone="254700000007"), "ESCTEST")
    assert client.push(_payment(phone="254700000007"), "ESCTEST").checkout_request_id


def test_an_unreachable_daraja_is_transient(settings: Settings) -> None:
    from devstack.services import free_port

    gone = dataclasses.replace(settings, mpesa_base_url=f"http://127.0.0.1:{free_port()}",
                               mpesa_consumer_key="k-" + uuid.uuid4().hex)
    client = DarajaClient(gone, TokenCache(connect(settings.redis_url), gone.mpesa_consumer_key))
    with pytest.raises(GatewayUnavailable):
        client.push(_payment(), "ESCTEST")


@pytest.fixture
def own_sandbox() -> Iterator[Any]:
    """Start a sandbox in this process with the given SandboxConfig overrides."""
    servers: list[RunningServer] = []

    def start(**config: Any) -> str:
        server = RunningServer(create_sandbox(SandboxConfig(callback_delay_ms=50, **config)))
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


def _payout() -> Payout:
    return Payout(id=uuid.uuid4().hex, user_id="u", amount=100, phone="254708374149",
                  idempotency_key="k", request_hash="h", debit_key="dk", created_at=NOW,
                  updated_at=NOW)


def _own_token_cache(settings: Settings) -> TokenCache:
    """The real Redis, under a key of its own (another sandbox's tokens are not valid here)."""
    return TokenCache(connect(settings.redis_url), "own-sandbox-" + uuid.uuid4().hex)


def _logged(base: str, path: str) -> list[int]:
    items = requests.get(f"{base}/sandbox/requests", params={"path": path}, timeout=5)
    return [item["status"] for item in items.json()["items"]]


def test_a_503_on_a_push_or_a_payout_is_an_unknown_outcome_and_on_a_query_transient(
    settings: Settings, own_sandbox: Any,
) -> None:
    base = own_sandbox(fault_rate=1.0)
    faulty = dataclasses.replace(settings, mpesa_base_url=base,
                                 mpesa_security_credential="not-checked-before-the-fault")
    client = DarajaClient(faulty, _own_token_cache(settings))
    with pytest.raises(GatewayOutcomeUnknown):
        client.push(_payment(phone="254711000010"), "ESCTEST")
    with pytest.raises(GatewayOutcomeUnknown):
        client.pay(_payout())
    payment = dataclasses.replace(_payment(), checkout_request_id="ws_CO_unknown")
    with pytest.raises(GatewayUnavailable):
        client.query(payment)
    with pytest.raises(GatewayUnavailable):
        client.query_status(_payout())
    assert _logged(base, "/mpesa/stkpush/v1/processrequest") == [503]  # sent once, not again
    assert _logged(base, "/mpesa/b2c/v3/paymentrequest") == [503]


def test_an_oauth_outage_is_transient_and_sends_nothing(
    settings: Settings, own_sandbox: Any,
) -> None:
    base = own_sandbox(oauth_fault_rate=1.0)
    down = dataclasses.replace(settings, mpesa_base_url=base,
                               mpesa_security_credential="never-sent")
    client = DarajaClient(down, _own_token_cache(settings))
    with pytest.raises(GatewayUnavailable):
        client.push(_payment(phone="254711000011"), "ESCTEST")
    with pytest.raises(GatewayUnavailable):
        client.pay(_payout())
    assert _logged(base, "/oauth/v1/generate") == [503, 503]
    assert _logged(base, "/mpesa/stkpush/v1/processrequest") == []
    assert _logged(base, "/mpesa/b2c/v3/paymentrequest") == []


def test_a_token_cache_whose_redis_is_down_sends_nothing_and_is_transient(
    stack: Stack, settings: Settings,
) -> None:
    gone = TokenCache(connect(f"redis://127.0.0.1:{free_port()}/0"), "k-" + uuid.uuid4().hex)
    client = DarajaClient(settings, gone)
    before = len(_logged(stack.sandbox, "/mpesa/stkpush/v1/processrequest"))
    phone = f"2547{uuid.uuid4().int % 10**8:08d}"
    with pytest.raises(GatewayUnavailable):
        client.push(_payment(phone=phone), "ESCTEST")
    with pytest.raises(GatewayUnavailable):
        client.pay(_payout())
    assert len(_logged(stack.sandbox, "/mpesa/stkpush/v1/processrequest")) == before


def test_an_unreadable_certificate_sends_no_payout_and_is_transient(
    stack: Stack, settings: Settings, tmp_path: Any,
) -> None:
    broken = tmp_path / "broken.cer"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    for path in (str(broken), str(tmp_path / "missing.cer")):
        config = dataclasses.replace(settings, mpesa_security_credential=None,
                                     mpesa_certificate_path=path)
        client = DarajaClient(config, TokenCache(connect(settings.redis_url),
                                                 settings.mpesa_consumer_key))
        payout = _payout()
        with pytest.raises(GatewayUnavailable):
            client.pay(payout)
        with pytest.raises(GatewayUnavailable):
            client.query_status(payout)
        sent = requests.get(f"{stack.sandbox}/sandbox/requests", timeout=5,
                            params={"path": "/mpesa/b2c/v3/paymentrequest"}).json()["items"]
        assert not [i for i in sent if i["originatorConversationId"]
                    == payout.originator_conversation_id]
