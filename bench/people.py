"""The bench's buyers, seller, deals and phones, made through the public API before timing."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.helpers import Api, register
from tests.stack import Stack


class Phones:
    """Distinct valid phones, 2547XXXXXXXX, far from the sandbox's test numbers 2547000000xx
    (which cancel, time out or fail: see docs/API.md): one per payment, so no
    phone ever has two prompts open."""

    def __init__(self, first: int = 254_720_000_000) -> None:
        self._numbers = itertools.count(first)
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            return str(next(self._numbers))


@dataclass(frozen=True)
class Deal:
    id: str
    buyer: Api
    phone: str


@dataclass
class People:
    seller: Api
    buyers: list[Api]

    @classmethod
    def sign_up(cls, stack: Stack, buyers: int) -> People:
        return cls(register(stack, "seller"), [register(stack, "buyer") for _ in range(buyers)])


def open_deals(stack: Stack, people: People, count: int, phones: Phones,
               threads: int = 16) -> list[Deal]:
    """``count`` pending deals, round-robin over the buyers, each with its own phone."""
    local = threading.local()

    def one(buyer: Api) -> Deal:
        if not hasattr(local, "http"):
            local.http = requests.Session()
        response = local.http.post(
            f"{stack.api}/api/transactions", timeout=30,
            headers={"Authorization": f"Bearer {buyer.token}"},
            json={"title": "Used phone", "description": "A Nokia in good condition",
                  "amount": 100, "sellerId": people.seller.user["id"]})
        if response.status_code != 201:
            raise RuntimeError(f"opening a deal: {response.status_code} {response.text}")
        return Deal(response.json()["data"]["id"], buyer, phones.next())

    buyers: Iterator[Api] = itertools.islice(itertools.cycle(people.buyers), count)
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(one, buyers))


def deals_file(deals: list[Deal], path: Path) -> Path:
    """The input of ``load.lua pay``: one ``<deal id> <phone> <access token>`` a line."""
    path.write_text("".join(f"{d.id} {d.phone} {d.buyer.token}\n" for d in deals))
    return path
