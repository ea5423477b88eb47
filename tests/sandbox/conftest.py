"""Fixtures for the sandbox tests: a callback receiver and sandboxes on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.security import generate_key_pair, write_key_pair
from tests.sandbox.business_harness import BusinessTestClient
from tests.sandbox.harness import CallbackRecorder, DarajaTestClient, RunningServer

TEST_CALLBACK_DELAY_MS = 50

StartSandbox = Callable[..., DarajaTestClient]


@pytest.fixture(scope="session")
def key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One key pair on disk for the session: generating one per sandbox would cost ~0.1 s each."""
    directory = tmp_path_factory.mktemp("keys")
    key_path, cert_path = directory / "sandbox.key", directory / "sandbox.crt"
    write_key_pair(generate_key_pair(), key_path, cert_path)
    return str(key_path), str(cert_path)


@pytest.fixture(scope="session")
def recorder() -> Iterator[tuple[CallbackRecorder, str]]:
    """One callback receiver for the session; tests tell callbacks apart by CheckoutRequestID."""
    recording = CallbackRecorder()
    server = RunningServer(recording)
    yield recording, server.url
    server.stop()


@pytest.fixture
def callbacks(recorder: tuple[CallbackRecorder, str]) -> CallbackRecorder:
    return recorder[0]


@pytest.fixture
def start_sandbox(
    recorder: tuple[CallbackRecorder, str], key_files: tuple[str, str]
) -> Iterator[StartSandbox]:
    """Start a sandbox with ``SandboxConfig`` overrides (callback delay 50 ms, session keys)."""
    servers: list[RunningServer] = []
    defaults: dict[str, Any] = {
        "callback_delay_ms": TEST_CALLBACK_DELAY_MS,
        "key_path": key_files[0],
        "cert_path": key_files[1],
    }

    def start(**overrides: Any) -> DarajaTestClient:
        config = SandboxConfig(**(defaults | overrides))
        server = RunningServer(create_app(config))
        servers.append(server)
        return DarajaTestClient(server.url, config, callback_url=recorder[1])

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def daraja(start_sandbox: StartSandbox) -> DarajaTestClient:
    """A sandbox with the default settings (and a 50 ms callback delay)."""
    return start_sandbox()


@pytest.fixture
def business(daraja: DarajaTestClient, callbacks: CallbackRecorder) -> BusinessTestClient:
    """B2C, Transaction Status and Reversal calls on the default sandbox."""
    return BusinessTestClient(daraja, callbacks)
