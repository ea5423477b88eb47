"""Which announced revocation closes which socket (no I/O: the matching rule alone)."""

from __future__ import annotations

import pytest

from adapters.socket_sessions import Held

HELD = Held(jti="j1", family="f1", user_id="u1", generation=3, exp=2e9)


@pytest.mark.parametrize(("message", "closes"), [
    ({"jti": "j1"}, True),
    ({"jti": "j2"}, False),
    ({"family": "f1"}, True),
    ({"family": "f2"}, False),
    ({"user": "u1", "generation": 4}, True),  # its generation ended
    ({"user": "u1", "generation": 3}, False),  # its own: it was opened after that revocation
    ({"user": "u2", "generation": 9}, False),
    ({}, False),
])
def test_an_announcement_closes_exactly_the_sockets_it_names(
    message: dict[str, object], closes: bool,
) -> None:
    assert HELD.matches(message) is closes


def test_a_socket_of_a_token_without_a_family_is_not_closed_by_any_family() -> None:
    legacy = Held(jti="j", family=None, user_id="u", generation=0, exp=2e9)
    assert legacy.matches({"family": None}) is False and legacy.matches({"family": "x"}) is False
