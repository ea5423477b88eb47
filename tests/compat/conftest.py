"""Fixtures for the compatibility tests: third-party Daraja clients pointed at the sandbox.

Each test gets its own sandbox (a threaded werkzeug server on a free loopback port, as in
tests/sandbox), so prompts, OriginatorConversationIDs and receipts never leak between tests. The
key pair comes from ``python -m sandbox keygen``, the command an integrator would run, and its
certificate is what the clients encrypt SecurityCredentials with. Callbacks go to one recorder for
the session; every test posts them to paths of its own (``Urls``) and waits on those paths.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from werkzeug.wrappers import Request, Response

from sandbox.app import create_app
from sandbox.config import PUBLIC_INITIATOR_PASSWORD, PUBLIC_SANDBOX_PASSKEY, SandboxConfig
from tests.sandbox import harness
from tests.sandbox.harness import RunningServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = REPO_ROOT / "tests/fixtures/daraja"  # provenance: its README

CONSUMER_KEY = "sandbox-consumer-key"
CONSUMER_SECRET = "sandbox-consumer-secret"
STK_SHORTCODE = "174379"
B2C_SHORTCODE = "600000"
PASSKEY = PUBLIC_SANDBOX_PASSKEY
INITIATOR = "testapi"
INITIATOR_PASSWORD = PUBLIC_INITIATOR_PASSWORD
TEST_PHONE = "254708374149"
CANCELLING_PHONE = "254700000001"

FAST_DELAY_MS = 100
"""Callback and result delay when the test only waits for the outcome."""
PENDING_DELAY_MS = 1000
"""Callback delay when the test must catch the push still pending: room for one query."""


def wait_until(check: Callable[[], T | None], what: str, timeout_s: float = 5.0) -> T:
    return harness.wait_until(check, timeout_s, what)


class CallbackRecorder:
    """A WSGI app that records every POST body by path and answers Daraja's usual ack."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bodies: dict[str, list[str]] = {}

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        with self._lock:
            self._bodies.setdefault(request.path, []).append(request.get_data(as_text=True))
        ack = json.dumps({"ResultCode": 0, "ResultDesc": "Accepted"})
        return Response(ack, mimetype="application/json")(environ, start_response)

    def bodies(self, path: str) -> list[Any]:
        with self._lock:
            return [json.loads(raw) for raw in self._bodies.get(path, [])]

    def wait_for(self, path: str, count: int = 1, timeout_s: float = 5.0) -> list[Any]:
        """Wait until at least ``count`` bodies arrived at ``path``; return all of them."""

        def enough() -> list[Any] | None:
            bodies = self.bodies(path)
            return bodies if len(bodies) >= count else None

        return wait_until(enough, f"{count} callback(s) at {path}", timeout_s)


@dataclass(frozen=True)
class Urls:
    """Callback URLs private to one test (``<recorder>/<token>/<name>``) and waits on them."""

    recorder_url: str
    token: str
    recorder: CallbackRecorder

    def url(self, name: str) -> str:
        return f"{self.recorder_url}{self.path(name)}"

    def path(self, name: str) -> str:
        return f"/{self.token}/{name}"

    def wait_for(self, name: str, count: int = 1) -> list[Any]:
        return self.recorder.wait_for(self.path(name), count)

    def received(self, name: str) -> list[Any]:
        return self.recorder.bodies(self.path(name))


@dataclass(frozen=True)
class KeyFiles:
    key: str
    cert: str


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    config: SandboxConfig


StartSandbox = Callable[..., Sandbox]


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> KeyFiles:
    """The sandbox's key pair, written by ``python -m sandbox keygen`` as the README says."""
    directory = tmp_path_factory.mktemp("sandbox-keys")
    key, cert = directory / "sandbox.key", directory / "sandbox.crt"
    done = subprocess.run(
        [sys.executable, "-m", "sandbox", "keygen", "--key", str(key), "--cert", str(cert)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False,
    )
    assert done.returncode == 0, done.stderr
    return KeyFiles(str(key), str(cert))


@pytest.fixture(scope="session")
def recorder_server() -> Iterator[tuple[CallbackRecorder, str]]:
    recorder = CallbackRecorder()
    server = RunningServer(recorder)
    yield recorder, server.url
    server.stop()


@pytest.fixture
def urls(recorder_server: tuple[CallbackRecorder, str]) -> Urls:
    recorder, base = recorder_server
    return Urls(base, uuid.uuid4().hex, recorder)


@pytest.fixture
def start_sandbox(key_files: KeyFiles) -> Iterator[StartSandbox]:
    """Start sandboxes with ``SandboxConfig`` overrides (fast callbacks, the keygen key pair)."""
    servers: list[RunningServer] = []
    defaults: dict[str, Any] = {
        "callback_delay_ms": FAST_DELAY_MS,
        "key_path": key_files.key,
        "cert_path": key_files.cert,
    }

    def start(**overrides: Any) -> Sandbox:
        config = SandboxConfig(**(defaults | overrides))
        server = RunningServer(create_app(config))
        servers.append(server)
        return Sandbox(server.url, config)

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(start_sandbox: StartSandbox) -> Sandbox:
    return start_sandbox()


def security_credential(cert_path: str, password: str = INITIATOR_PASSWORD) -> str:
    """daraja.md §11 done by hand: RSA PKCS#1 v1.5 of the raw password bytes, then base64.

    Used where the library has no helper (daraja-v3) or its helper is wrong (mpesakit).
    """
    public_key = x509.load_pem_x509_certificate(Path(cert_path).read_bytes()).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    return base64.b64encode(public_key.encrypt(password.encode(), padding.PKCS1v15())).decode()


def result_parameters(result: dict[str, Any]) -> dict[str, Any]:
    """``Result.ResultParameters.ResultParameter`` as a dict by Key (the last value of a repeat)."""
    items = result["Result"]["ResultParameters"]["ResultParameter"]
    return {item["Key"]: item.get("Value") for item in items}


def example(name: str) -> Any:
    """A body from the project's Daraja reference examples."""
    return json.loads((EXAMPLES / name).read_text())
