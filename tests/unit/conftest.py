"""Unit fixtures: a Context of fakes, and a buyer and a seller already registered."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.services import accounts
from domain.services.context import Context
from domain.users import User
from tests.unit.fakes import make_context


@dataclass
class World:
    ctx: Context
    buyer: User
    seller: User


@pytest.fixture
def ctx() -> Context:
    return make_context()


@pytest.fixture
def world(ctx: Context) -> World:
    buyer = accounts.register(ctx, "Buyer@Example.com", "a long password", "Amina", "B", "buyer")
    seller = accounts.register(ctx, "seller@example.com", "a long password", "Otieno", "S",
                               "seller")
    return World(ctx, buyer, seller)
