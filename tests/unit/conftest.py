"""Unit fixtures: fakes of every port, and a marketplace with a buyer and a seller."""

from __future__ import annotations

import pytest

from domain.services.context import Context
from tests.unit.fakes import Fakes
from tests.unit.world import World


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


@pytest.fixture
def ctx(fakes: Fakes) -> Context:
    return fakes.ctx


@pytest.fixture
def world() -> World:
    return World.build()
