"""Fixtures for the sandbox tests: a callback receiver and sandboxes on free loopback ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.app import create_app
from sandbox.config import SandboxConfig
from tests.sandbox.harness import CallbackRecorder, DarajaTestClient, RunningServer

TEST_CALLBACK_DELAY_MS = 50

StartSandbox = Callable[..., DarajaTestClient]


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
def start_sandbox(recorder: tuple[CallbackRecorder, str]) -> Iterator[StartSandbox]:
    """Start a sandbox with ``SandboxConfig`` overrides (callback delay 50 ms unless given)."""
    servers: list[RunningServer] = []

    def start(**overrides: Any) -> DarajaTestClient:
        config = SandboxConfig(**({"callback_delay_ms": TEST_CALLBACK_DELAY_MS} | overrides))
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
