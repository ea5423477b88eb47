"""The Daraja client against the sandbox over HTTP, with the token cache in the real Redis."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import pytest
import requests

from adapters.daraja import DarajaClient
from adapters.redis_store import TokenCache, connect
from adapters.settings import Settings
from domain.payments import Payment
from domain.ports import GatewayRejected, GatewayUnavailable
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
