"""The headers helmet sets, on every response (errors and 404s too), and CORS from settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from flask.testing import FlaskClient

from adapters.settings import Settings
from api import create_app
from tests.stack import Stack

EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
ALLOWED = "https://app.example.co.ke"


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "/api/health", 200),
    ("GET", "/api/nowhere", 404),
    ("GET", "/api/users/me", 401),
    ("POST", "/api/auth/login", 422),
    ("GET", "/api/docs", 200),
    ("GET", "/api/docs/assets/redoc/redoc.standalone.js", 200),
    ("POST", "/api/mpesa/stk/callback/wrong-token", 404),
    ("DELETE", "/api/health", 405),
])
def test_every_response_carries_the_security_headers(stack: Stack, method: str, path: str,
                                                     status: int) -> None:
    response = requests.request(method, stack.api + path, json={}, timeout=10)
    assert response.status_code == status
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (path, name)
    policy = dict(part.strip().split(" ", 1)
                  for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'" and policy["script-src"] == "'self'"
    # Outside production there is no TLS to pin browsers to.
    assert "Strict-Transport-Security" not in response.headers
    assert "upgrade-insecure-requests" not in policy


def _client(stack: Stack, **settings: object) -> Iterator[FlaskClient]:
    config = Settings(mongo_url=stack.env["MONGO_URL"], mongo_db=stack.scratch_db("headers"),
                      redis_url=stack.env["REDIS_URL"], **settings)  # type: ignore[arg-type]
    yield create_app(config).test_client()


@pytest.fixture(scope="module")
def production(stack: Stack) -> Iterator[FlaskClient]:
    yield from _client(stack, app_env="production")


@pytest.fixture(scope="module")
def with_cors(stack: Stack) -> Iterator[FlaskClient]:
    yield from _client(stack, cors_origins=(ALLOWED,))


def test_production_pins_browsers_to_https_for_180_days(production: FlaskClient) -> None:
    for path in ("/api/health", "/api/nowhere"):
        response = production.get(path)
        assert response.headers["Strict-Transport-Security"] == \
            "max-age=15552000; includeSubDomains"
        assert response.headers["X-Frame-Options"] == "DENY"
        policy = response.headers["Content-Security-Policy"]
        assert policy.startswith("default-src 'self'")
        assert policy.endswith("; upgrade-insecure-requests")


def test_a_preflight_from_an_allowed_origin_is_allowed(with_cors: FlaskClient) -> None:
    response = with_cors.options("/api/transactions", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, Content-Type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()


def test_a_preflight_from_another_origin_gets_no_cors_header(with_cors: FlaskClient) -> None:
    for origin in ("https://evil.example", "http://app.example.co.ke"):
        response = with_cors.options("/api/transactions", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        assert "Access-Control-Allow-Origin" not in response.headers, origin
        simple = with_cors.get("/api/health", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in simple.headers, origin


def test_the_test_stack_allows_no_origin_by_default(stack: Stack) -> None:
    response = requests.options(f"{stack.api}/api/transactions", timeout=10, headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers
