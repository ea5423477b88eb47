"""Test harness: servers on free loopback ports, a callback recorder and a small Daraja client."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.config import SandboxConfig

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

T = TypeVar("T")
EAT = timezone(timedelta(hours=3))
GOOD_PHONE = "254708374149"
MISSING = object()
"""Pass as a field override to leave the field out of the body."""


def wait_until(
    check: Callable[[], T | None], timeout_s: float = 5.0, what: str = "condition"
) -> T:
    """Poll ``check`` every 20 ms until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


class RunningServer:
    """A threaded werkzeug server on a free loopback port, serving in a daemon thread."""

    def __init__(self, app: WSGIApplication) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class ReceivedCallback:
    path: str
    raw: str

    @property
    def body(self) -> Any:
        return json.loads(self.raw)

    @property
    def checkout_request_id(self) -> str | None:
        try:
            return str(self.body["Body"]["stkCallback"]["CheckoutRequestID"])
        except (ValueError, KeyError, TypeError):
            return None

    @property
    def originator_conversation_id(self) -> str | None:
        """Of a B2C, status or reversal result (or queue timeout)."""
        try:
            return str(self.body["Result"]["OriginatorConversationID"])
        except (ValueError, KeyError, TypeError):
            return None


class CallbackRecorder:
    """A WSGI app that records every request; ``/status/<code>`` answers with that status."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received: list[ReceivedCallback] = []

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self._received.append(ReceivedCallback(request.path, request.get_data(as_text=True)))
        _, _, code = request.path.partition("/status/")
        body = json.dumps({"ResultCode": 0, "ResultDesc": "Accepted"})
        response = Response(body, status=int(code or 200), mimetype="application/json")
        return response(environ, start_response)

    def received(self, callback_id: str) -> list[ReceivedCallback]:
        """Callbacks carrying this CheckoutRequestID (STK) or OriginatorConversationID (others)."""
        with self._lock:
            return [
                c
                for c in self._received
                if callback_id in (c.checkout_request_id, c.originator_conversation_id)
            ]

    def wait_for(self, callback_id: str, count: int = 1) -> list[ReceivedCallback]:
        """Wait until at least ``count`` callbacks with this id have arrived."""

        def enough() -> list[ReceivedCallback] | None:
            received = self.received(callback_id)
            return received if len(received) >= count else None

        return wait_until(enough, what=f"{count} callback(s) for {callback_id}")


def stk_password(shortcode: str, passkey: str, timestamp: str) -> str:
    return base64.b64encode((shortcode + passkey + timestamp).encode()).decode()


class DarajaTestClient:
    """Talks to one running sandbox over real HTTP, with valid defaults for every field."""

    def __init__(self, base_url: str, config: SandboxConfig, callback_url: str) -> None:
        self.base_url = base_url
        self.config = config
        self.callback_url = callback_url
        self._token: str | None = None

    def oauth(self, auth: Any = None, query: str = "?grant_type=client_credentials") -> Any:
        auth = auth or (self.config.consumer_key, self.config.consumer_secret)
        return requests.get(f"{self.base_url}/oauth/v1/generate{query}", auth=auth, timeout=5)

    def token(self) -> str:
        if self._token is None:
            response = self.oauth()
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def credentials(self, timestamp: str | None = None) -> dict[str, Any]:
        timestamp = timestamp or datetime.now(EAT).strftime("%Y%m%d%H%M%S")
        password = stk_password(self.config.shortcode, self.config.passkey, timestamp)
        return {"BusinessShortCode": self.config.shortcode, "Password": password,
                "Timestamp": timestamp}

    def push_body(self, **overrides: Any) -> dict[str, Any]:
        body = self.credentials() | {
            "TransactionType": "CustomerPayBillOnline", "Amount": 100,
            "PartyA": GOOD_PHONE, "PartyB": self.config.shortcode, "PhoneNumber": GOOD_PHONE,
            "CallBackURL": f"{self.callback_url}/callback", "AccountReference": "ESC1234",
            "TransactionDesc": "Escrow deal",
        }
        return apply_overrides(body, overrides)

    def push(self, token: str | None = None, **overrides: Any) -> requests.Response:
        """Push with valid defaults; keyword arguments named like Daraja fields replace them."""
        body = self.push_body(**overrides)
        return self.post("/mpesa/stkpush/v1/processrequest", body, token)

    def query(
        self, checkout_request_id: str, token: str | None = None, **overrides: Any
    ) -> requests.Response:
        body = self.credentials() | {"CheckoutRequestID": checkout_request_id}
        body = apply_overrides(body, overrides)
        return self.post("/mpesa/stkpushquery/v1/query", body, token)

    def post(self, path: str, body: Any, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or self.token()}"}
        return requests.post(f"{self.base_url}{path}", json=body, headers=headers, timeout=5)

    def accepted_push(self, **overrides: Any) -> str:
        """Push and return the CheckoutRequestID, failing the test unless it was accepted."""
        response = self.push(**overrides)
        assert response.status_code == 200, response.text
        return str(response.json()["CheckoutRequestID"])

    def control(self, endpoint: str, /, **params: str) -> Any:
        """GET a control endpoint such as ``/requests`` and return its JSON."""
        url = f"{self.base_url}/sandbox{endpoint}"
        return requests.get(url, params=params, timeout=5).json()


def apply_overrides(body: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = body | overrides
    return {name: value for name, value in merged.items() if value is not MISSING}
