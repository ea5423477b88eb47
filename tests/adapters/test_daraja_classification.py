"""How the Daraja client classifies each answer, on a requests-level stub (no network).

A money-moving request (STK push, B2C payment) that met a 5xx may have been acted on: unknown
outcome, never "safe to send again", unless Daraja's code says it refused before creating
anything. A read (STK Query, Transaction Status) that met a 5xx is only transient. Whatever goes
wrong before a request leaves the process (token cache, OAuth, credential) is transient.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
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
from domain.ports import GatewayOutcomeUnknown, GatewayRejected, GatewayUnavailable, PhoneBusy

NOW = datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
OAUTH = "/oauth/v1/generate"
PUSH = "/mpesa/stkpush/v1/processrequest"
QUERY = "/mpesa/stkpushquery/v1/query"
B2C = "/mpesa/b2c/v3/paymentrequest"
STATUS = "/mpesa/transactionstatus/v1/query"
Answer = Callable[[], requests.Response]


def _response(status: int, body: Any = None, text: str | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    if body is not None:
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
    else:
        response._content = (text or "").encode()
        response.headers["Content-Type"] = "text/html"
    return response


def _error(status: int, code: str, message: str) -> Answer:
    return lambda: _response(status, {"requestId": "r-1", "errorCode": code,
                                      "errorMessage": message})


def _ok(body: dict[str, Any]) -> Answer:
    return lambda: _response(200, body)


TOKEN = _ok({"access_token": "tok-" + "x" * 24, "expires_in": "3599"})
PUSH_ACCEPTED = _ok({"MerchantRequestID": "m-1", "CheckoutRequestID": "ws_CO_1",
                     "ResponseCode": "0", "ResponseDescription": "Success", "CustomerMessage": ""})


class StubSession(requests.Session):
    """Answers by path from ``answers``; records what was sent. Nothing goes on the network."""

    def __init__(self, answers: dict[str, Answer]) -> None:
        super().__init__()
        self.answers = {OAUTH: TOKEN, **answers}
        self.sent: list[str] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any,
                **kwargs: Any) -> requests.Response:
        path = "/" + str(url).split("/", 3)[3].split("?")[0]
        self.sent.append(path)
        return self.answers[path]()


class MemoryTokens:
    """A token cache without Redis, for the classification tests."""

    def __init__(self) -> None:
        self.token: str | None = None

    def get(self, fetch: Callable[[], tuple[str, int]]) -> str:
        if self.token is None:
            self.token = fetch()[0]
        return self.token

    def forget(self, token: str) -> None:
        self.token = None


def _settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"mpesa_base_url": "http://daraja.invalid",
                              "mpesa_security_credential": "c3RhdGlj",
                              "mpesa_callback_token": "t" * 40}
    return Settings(**(values | overrides))


def _client(answers: dict[str, Answer], tokens: Any = None,
            **settings: Any) -> tuple[DarajaClient, StubSession]:
    session = StubSession(answers)
    return DarajaClient(_settings(**settings), tokens or MemoryTokens(), session), session


def _payment() -> Payment:
    return Payment(id=uuid.uuid4().hex, deal_id="d", payer_id="b", amount=10,
                   phone="254708374149", created_at=NOW, updated_at=NOW, idempotency_key="k",
                   request_hash="h", checkout_request_id="ws_CO_1")


def _payout() -> Payout:
    return Payout(id=uuid.uuid4().hex, user_id="u", amount=100, phone="254708374149",
                  idempotency_key="k", request_hash="h", debit_key="dk", created_at=NOW,
                  updated_at=NOW)


def _writes(client: DarajaClient) -> list[tuple[str, Callable[[], object]]]:
    return [(PUSH, lambda: client.push(_payment(), "ESC1")), (B2C, lambda: client.pay(_payout()))]


SENT_AND_MAYBE_ACTED_ON = {
    "502 empty": lambda: _response(502, text=""),
    "502 html": lambda: _response(502, text="<html>Bad Gateway</html>"),
    "503 daraja": _error(503, "503.001.01", "Service Unavailable"),
    "503 empty": lambda: _response(503, text=""),
    "504 daraja": _error(504, "504.001.01", "Gateway Timeout"),
    "504 html": lambda: _response(504, text="<html>Gateway Time-out</html>"),
    "500 internal": _error(500, "500.002.1001", "System internal error."),
    "500 other": _error(500, "500.003.1001", "Internal Server Error"),
    "500 empty": lambda: _response(500, text=""),
    "507": lambda: _response(507, text="Insufficient Storage"),
}


@pytest.mark.parametrize("answer", SENT_AND_MAYBE_ACTED_ON.values(),
                         ids=SENT_AND_MAYBE_ACTED_ON.keys())
@pytest.mark.parametrize("path", [PUSH, B2C], ids=["stk-push", "b2c"])
def test_a_5xx_on_a_money_request_is_an_unknown_outcome(path: str, answer: Answer) -> None:
    client, session = _client({path: answer})
    call = dict(_writes(client))[path]
    with pytest.raises(GatewayOutcomeUnknown):
        call()
    assert session.sent.count(path) == 1  # and it is not sent again by the client itself


REFUSED_BEFORE_CREATING = {
    "spike arrest": _error(500, "500.003.02", "Error Occurred: Spike Arrest Violation"),
    "quota": _error(500, "500.003.03", "Error Occurred: Quota Violation"),
}


@pytest.mark.parametrize("answer", REFUSED_BEFORE_CREATING.values(),
                         ids=REFUSED_BEFORE_CREATING.keys())
@pytest.mark.parametrize("path", [PUSH, B2C], ids=["stk-push", "b2c"])
def test_a_documented_refusal_before_creating_anything_is_transient(
    path: str, answer: Answer,
) -> None:
    client, _ = _client({path: answer})
    with pytest.raises(GatewayUnavailable) as raised:
        dict(_writes(client))[path]()
    assert not isinstance(raised.value, PhoneBusy)


def test_a_locked_subscriber_is_a_busy_phone() -> None:
    client, _ = _client({PUSH: _error(500, "500.001.1001", "Unable to lock subscriber, a "
                                      "transaction is already in process for the current "
                                      "subscriber")})
    with pytest.raises(PhoneBusy):
        client.push(_payment(), "ESC1")


def test_wrong_credentials_stay_a_permanent_rejection() -> None:
    client, _ = _client({PUSH: _error(500, "500.001.1001", "Wrong credentials")})
    with pytest.raises(GatewayRejected) as refused:
        client.push(_payment(), "ESC1")
    assert refused.value.code == "500.001.1001"


def test_a_200_that_cannot_be_read_on_a_push_is_an_unknown_outcome() -> None:
    client, _ = _client({PUSH: lambda: _response(200, text="<html>ok</html>")})
    with pytest.raises(GatewayOutcomeUnknown):
        client.push(_payment(), "ESC1")


def test_an_accepted_push_still_works() -> None:
    client, _ = _client({PUSH: PUSH_ACCEPTED})
    assert client.push(_payment(), "ESC1").checkout_request_id == "ws_CO_1"


READ_FAILURES = {
    **SENT_AND_MAYBE_ACTED_ON,
    **REFUSED_BEFORE_CREATING,
    "read timeout": lambda: (_ for _ in ()).throw(requests.ReadTimeout("read timed out")),
    "reset": lambda: (_ for _ in ()).throw(requests.ConnectionError("connection reset")),
}


@pytest.mark.parametrize("answer", READ_FAILURES.values(), ids=READ_FAILURES.keys())
@pytest.mark.parametrize("path", [QUERY, STATUS], ids=["stk-query", "transaction-status"])
def test_a_5xx_or_no_answer_on_a_query_is_transient(path: str, answer: Answer) -> None:
    client, _ = _client({path: answer})
    call = {QUERY: lambda: client.query(_payment()),
            STATUS: lambda: client.query_status(_payout())}[path]
    with pytest.raises(GatewayUnavailable):
        call()


def test_the_older_pending_form_of_stk_query_is_still_pending() -> None:
    client, _ = _client({QUERY: _error(500, "500.001.1001", "The transaction is being processed")})
    assert client.query(_payment()).pending


OAUTH_OUTAGES = {
    "500": lambda: _response(500, text=""),
    "502": lambda: _response(502, text="<html>Bad Gateway</html>"),
    "503 daraja": _error(503, "503.001.01", "Service Unavailable"),
    "504": lambda: _response(504, text=""),
    "200 unreadable": lambda: _response(200, text="<html>maintenance</html>"),
    "200 without a token": _ok({"expires_in": "3599"}),
    "read timeout": lambda: (_ for _ in ()).throw(requests.ReadTimeout("read timed out")),
    "connect timeout": lambda: (_ for _ in ()).throw(requests.ConnectTimeout("connect")),
    "refused": lambda: (_ for _ in ()).throw(requests.ConnectionError("refused")),
}


@pytest.mark.parametrize("answer", OAUTH_OUTAGES.values(), ids=OAUTH_OUTAGES.keys())
def test_an_oauth_outage_is_transient_and_nothing_is_sent(answer: Answer) -> None:
    client, session = _client({OAUTH: answer, PUSH: PUSH_ACCEPTED, B2C: PUSH_ACCEPTED,
                               QUERY: PUSH_ACCEPTED, STATUS: PUSH_ACCEPTED})
    for call in (lambda: client.push(_payment(), "ESC1"), lambda: client.pay(_payout()),
                 lambda: client.query(_payment()), lambda: client.query_status(_payout())):
        with pytest.raises(GatewayUnavailable):
            call()
    assert set(session.sent) == {OAUTH}


@pytest.mark.parametrize("status", [400, 401])
def test_oauth_refusing_the_credentials_is_a_configuration_error(status: int) -> None:
    client, session = _client({OAUTH: lambda: _response(status, text="")})
    with pytest.raises(GatewayRejected) as refused:
        client.push(_payment(), "ESC1")
    assert refused.value.code == "OAUTH"
    assert session.sent == [OAUTH]


def _unreachable_token_cache() -> TokenCache:
    """A TokenCache on a port where no Redis listens."""
    return TokenCache(connect(f"redis://127.0.0.1:{free_port()}/0"), "sandbox-consumer-key")


def test_an_unreachable_token_cache_means_nothing_was_sent() -> None:
    everything = {PUSH: PUSH_ACCEPTED, B2C: PUSH_ACCEPTED, QUERY: PUSH_ACCEPTED,
                  STATUS: PUSH_ACCEPTED}
    client, session = _client(everything, tokens=_unreachable_token_cache())
    for call in (lambda: client.push(_payment(), "ESC1"), lambda: client.pay(_payout()),
                 lambda: client.query(_payment()), lambda: client.query_status(_payout())):
        with pytest.raises(GatewayUnavailable):
            call()
    assert session.sent == []


@pytest.mark.parametrize("credential", [
    {"mpesa_security_credential": None, "mpesa_certificate_path": "/no/such/certificate.cer"},
    {"mpesa_security_credential": None, "mpesa_certificate_path": None},
    {"mpesa_security_credential": None, "mpesa_certificate_path": __file__},  # not a certificate
], ids=["missing-file", "not-configured", "not-a-certificate"])
def test_a_credential_that_cannot_be_made_means_nothing_was_sent(
    credential: dict[str, Any],
) -> None:
    client, session = _client({B2C: PUSH_ACCEPTED, STATUS: PUSH_ACCEPTED}, **credential)
    for call in (lambda: client.pay(_payout()), lambda: client.query_status(_payout())):
        with pytest.raises(GatewayUnavailable):
            call()
    assert B2C not in session.sent and STATUS not in session.sent
