"""The phone pattern the OpenAPI document promises is one the server takes, every time."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.phones import to_msisdn
from api.schemas import PHONE_PATTERN


@settings(max_examples=500, derandomize=True)
@given(st.from_regex(re.compile(PHONE_PATTERN), fullmatch=True))
def test_every_number_the_spec_allows_is_one_the_server_accepts(phone: str) -> None:
    msisdn = to_msisdn(phone)
    assert len(msisdn) == 12 and msisdn.startswith(("2547", "2541"))


def test_the_pattern_takes_the_forms_api_md_names() -> None:
    for phone in ("0708374149", "708374149", "+254708374149", "254708374149", "0110123456"):
        assert re.fullmatch(PHONE_PATTERN, phone), phone
    assert not re.search(PHONE_PATTERN, "0208374149")
