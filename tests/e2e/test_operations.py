"""Health, readiness, the OpenAPI document, request ids and Socket.IO's door."""

from __future__ import annotations

import pytest
import requests
import socketio

from tests.helpers import Api, listen, register
from tests.stack import Stack


def test_health_and_ready_answer_in_the_envelope(stack: Stack) -> None:
    health = requests.get(f"{stack.api}/api/health", timeout=5)
    assert health.status_code == 200 and health.json()["data"]["status"] == "ok"
    ready = requests.get(f"{stack.api}/api/ready", timeout=5).json()
    assert ready["data"]["checks"] == {"mongo": "ok", "redis": "ok", "broker": "ok"}


def test_every_response_carries_a_request_id_and_echoes_a_given_one(stack: Stack) -> None:
    for path in ("/api/health", "/api/users/me", "/api/nowhere"):
        assert requests.get(stack.api + path, timeout=5).headers["X-Request-ID"]
    echoed = requests.get(f"{stack.api}/api/health", headers={"X-Request-ID": "trace-42"},
                          timeout=5)
    assert echoed.headers["X-Request-ID"] == "trace-42"


def test_an_unknown_path_is_404_in_the_envelope(stack: Stack) -> None:
    response = requests.get(f"{stack.api}/api/nowhere", timeout=5)
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"


def test_the_openapi_document_describes_the_public_contract(stack: Stack) -> None:
    spec = requests.get(f"{stack.api}/api/openapi.json", timeout=5).json()
    paths = spec["paths"]
    for path in ("/api/auth/register", "/api/auth/login", "/api/auth/refresh",
                 "/api/auth/logout", "/api/users/me", "/api/transactions",
                 "/api/transactions/{deal_id}", "/api/transactions/{deal_id}/pay",
                 "/api/transactions/{deal_id}/payments", "/api/payments/{payment_id}",
                 "/api/health", "/api/ready"):
        assert path in paths, path
    assert "202" in paths["/api/transactions/{deal_id}/pay"]["post"]["responses"]
    assert requests.get(f"{stack.api}/api/docs", timeout=5).status_code == 200


@pytest.mark.parametrize("token", [None, "", "not-a-jwt"])
def test_socketio_refuses_a_missing_or_bad_token(stack: Stack, token: str | None) -> None:
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.api, auth={"token": token} if token is not None else None,
                       transports=["websocket"], wait_timeout=5)


def test_socketio_refuses_a_revoked_token_and_accepts_a_good_one(stack: Stack) -> None:
    user = register(stack, "buyer")
    ears = listen(stack, user.token or "")
    assert ears.client.connected
    ears.close()
    Api(stack.api, token=user.token).post("/api/auth/logout")
    with pytest.raises(socketio.exceptions.ConnectionError):
        listen(stack, user.token or "")
