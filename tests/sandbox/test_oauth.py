"""OAuth: token issue, every error shape, real expiry, and bearer checks on business calls."""

from __future__ import annotations

import re
import time

import pytest
import requests

from tests.sandbox.conftest import StartSandbox
from tests.sandbox.harness import DarajaTestClient, wait_until


def test_valid_client_credentials_get_a_28_character_token(daraja: DarajaTestClient) -> None:
    response = daraja.oauth()

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "expires_in"}
    assert re.fullmatch(r"[A-Za-z0-9]{28}", body["access_token"])
    assert body["expires_in"] == "3599"


def test_several_tokens_are_valid_at_the_same_time(daraja: DarajaTestClient) -> None:
    first, second = (daraja.oauth().json()["access_token"] for _ in range(2))

    assert first != second
    assert daraja.push(token=first).status_code == 200
    assert daraja.push(token=second, PhoneNumber="254711000001").status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer abc"}, {"Authorization": "Basic %%%not-base64"},
     {"Authorization": "Basic bm9jb2xvbg=="}],
    ids=["no-auth", "bearer", "undecodable", "no-colon"],
)
def test_missing_or_non_basic_auth_is_400_008_01(
    daraja: DarajaTestClient, headers: dict[str, str]
) -> None:
    url = f"{daraja.base_url}/oauth/v1/generate?grant_type=client_credentials"
    response = requests.get(url, headers=headers, timeout=5)

    assert response.status_code == 400
    assert response.json()["errorCode"] == "400.008.01"
    assert response.json()["errorMessage"] == "Invalid Authentication passed"


@pytest.mark.parametrize(
    "query", ["", "?grant_type=password", "?grant_type=client_credentials%20"],
    ids=["missing", "wrong", "trailing-space"],
)
def test_missing_or_wrong_grant_type_is_400_008_02(daraja: DarajaTestClient, query: str) -> None:
    response = daraja.oauth(query=query)

    assert response.status_code == 400
    assert response.json()["errorCode"] == "400.008.02"
    assert response.json()["errorMessage"] == "Invalid grant type passed"
    assert set(response.json()) == {"requestId", "errorCode", "errorMessage"}


@pytest.mark.parametrize(
    "auth", [("wrong-key", "sandbox-consumer-secret"), ("sandbox-consumer-key", "wrong")],
    ids=["key", "secret"],
)
def test_wrong_key_or_secret_is_an_empty_400(
    daraja: DarajaTestClient, auth: tuple[str, str]
) -> None:
    response = daraja.oauth(auth=auth)

    assert response.status_code == 400
    assert response.content == b""
    assert response.headers["Content-Type"].startswith("text/plain")


def test_configured_credentials_are_the_ones_accepted(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(consumer_key="k", consumer_secret="s")

    assert daraja.oauth(auth=("k", "s")).status_code == 200
    assert daraja.oauth(auth=("sandbox-consumer-key", "sandbox-consumer-secret")).content == b""


def test_tokens_really_expire_after_the_ttl(start_sandbox: StartSandbox) -> None:
    daraja = start_sandbox(token_ttl_s=1)
    issued = daraja.oauth()
    issued_at = time.monotonic()
    token = issued.json()["access_token"]
    assert issued.json()["expires_in"] == "0"
    assert daraja.push(token=token).status_code == 200

    wait_until(lambda: daraja.query("ws_CO_x", token=token).status_code == 404,
               what="the token to expire")

    assert time.monotonic() - issued_at >= 0.9
    rejected = daraja.query("ws_CO_x", token=token).json()
    assert rejected["errorCode"] == "404.001.03"
    assert rejected["errorMessage"] == "Invalid Access Token"
    fresh = daraja.oauth().json()["access_token"]
    assert daraja.query("ws_CO_x", token=fresh).status_code == 400  # token accepted, id unknown


@pytest.mark.parametrize(
    "authorization", [None, "Bearer", "Bearer not-a-token", "Basic abc"],
    ids=["none", "empty-bearer", "unknown-token", "basic"],
)
def test_business_calls_without_a_valid_token_are_404_001_03(
    daraja: DarajaTestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/mpesa/stkpush/v1/processrequest", "/mpesa/stkpushquery/v1/query"):
        url = f"{daraja.base_url}{path}"
        response = requests.post(url, json=daraja.push_body(), headers=headers, timeout=5)

        assert response.status_code == 404
        assert response.json()["errorCode"] == "404.001.03"
        assert response.json()["errorMessage"] == "Invalid Access Token"
        assert re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d+",
                            response.json()["requestId"])
