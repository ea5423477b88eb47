"""Callbacks behind a load balancer, over HTTP: who may send them.

The stack trusts one proxy hop (``TRUSTED_PROXY_HOPS=1``), as behind a load balancer that
appends the address it saw to X-Forwarded-For; the test plays that balancer. Safaricom is
``196.201.214.0/24``; the sandbox posts its own callbacks from 127.0.0.1 with no header.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.helpers import database
from tests.stack import Stack, start_stack

SAFARICOM = "196.201.214.200"
ATTACKER = "203.0.113.9"


@pytest.fixture(scope="module")
def proxied() -> Iterator[Stack]:
    running = start_stack(TRUSTED_PROXY_HOPS="1",
                          MPESA_CALLBACK_ALLOWED_IPS="127.0.0.1,196.201.214.0/24")
    try:
        yield running
    finally:
        running.close()


def _post(stack: Stack, body: Any, forwarded_for: str) -> requests.Response:
    return requests.post(f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}",
                         json=body, headers={"X-Forwarded-For": forwarded_for}, timeout=10)


def test_a_forged_leftmost_forwarded_address_does_not_pass_the_allow_list(
    proxied: Stack,
) -> None:
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "ResultCode": 1032,
                                     "CheckoutRequestID": f"ws_CO_{uuid.uuid4().hex[:16]}",
                                     "ResultDesc": "Request cancelled by user"}}}
    refused = _post(proxied, body, f"{SAFARICOM}, {ATTACKER}")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    kept = database(proxied).mpesa_callbacks.find_one(
        {"raw": {"$regex": body["Body"]["stkCallback"]["CheckoutRequestID"]}})
    assert kept["sourceIp"] == ATTACKER and kept["processed"]["outcome"] == "source_not_allowed"
