"""Fixtures shared by integration and end-to-end tests. Unit tests use none of them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.stack import Stack, start_stack


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    """One running system for the whole session, torn down at the end."""
    running = start_stack()
    try:
        yield running
    finally:
        running.close()
