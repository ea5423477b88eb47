"""Fixtures of the end-to-end tests (the session's running ``stack`` comes from tests/)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import counts
from tests.stack import Stack


@pytest.fixture
def unchanged(stack: Stack) -> Iterator[None]:
    """Counts every collection before and after the test: nothing may be written."""
    before = counts(stack)
    yield
    assert counts(stack) == before
