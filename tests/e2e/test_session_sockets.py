"""A Socket.IO connection lives no longer than the session it was opened with: revoking the
session (logout, logout everywhere, password change, a replayed refresh token) through one API
process disconnects the socket held by another, and an expired token ends its socket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import socketio

from tests.helpers import PASSWORD, Api, Listener, register, wait_until
from tests.stack import Stack

SHORT_ACCESS_S = 6  # long enough to sign in and connect on a loaded machine


@dataclass
class Second:
    base: str  # an API process whose access tokens live SHORT_ACCESS_S seconds


@pytest.fixture(scope="module")
def second(stack: Stack) -> Iterator[Second]:
    """One more API process on the session's stack (not a whole stack: only gunicorn)."""
    try:
        yield Second(stack.start_extra_api("api-sockets",
                                           ACCESS_TOKEN_SECONDS=str(SHORT_ACCESS_S)))
    finally:
        stack.stop("api-sockets")


def _socket(base: str, token: str | None) -> Listener:
    ears = Listener()
    ears.client.connect(base, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    assert ears.client.connected
    return ears


def _dropped(ears: Listener, what: str, timeout: float = 10.0) -> None:
    wait_until(lambda: not ears.client.connected, timeout=timeout, every=0.05, what=what)


def _login(base: str, user: Api) -> Api:
    session = Api(base).data("POST", "/api/auth/login",
                             {"email": user.user["email"], "password": PASSWORD})
    return Api(base, session["accessToken"], session["user"], session["refreshToken"])


def test_a_logout_through_one_api_disconnects_the_socket_held_by_another(
    stack: Stack, second: Second,
) -> None:
    user = register(stack, "buyer")
    other_session = _login(stack.api, user)
    ears, bystander = _socket(second.base, user.token), _socket(second.base, other_session.token)
    try:
        assert user.post("/api/auth/logout", {"refreshToken": user.refresh}).status_code == 200
        _dropped(ears, "the logged-out socket to be disconnected")
        assert bystander.client.connected  # another session of the same person stays
    finally:
        ears.close()
        bystander.close()


@pytest.mark.parametrize("how", ["logout-all", "password change", "replayed refresh"])
def test_ending_every_session_or_the_family_disconnects_its_sockets(
    stack: Stack, second: Second, how: str,
) -> None:
    user = register(stack, "seller")
    ears = _socket(second.base, user.token)
    try:
        if how == "logout-all":
            assert user.post("/api/auth/logout-all").status_code == 200
        elif how == "password change":
            changed = user.call("PUT", "/api/users/me/password", json={
                "currentPassword": PASSWORD, "newPassword": "another long passphrase"})
            assert changed.status_code == 200, changed.text
        else:
            headers = {"Authorization": f"Bearer {user.refresh}"}
            assert user.post("/api/auth/refresh", headers=headers).status_code == 200
            assert user.post("/api/auth/refresh", headers=headers).status_code == 401
        _dropped(ears, f"the socket to be disconnected after a {how}")
    finally:
        ears.close()


def test_a_socket_is_disconnected_when_its_token_expires(stack: Stack, second: Second) -> None:
    user = _login(second.base, register(stack, "buyer"))
    ears = _socket(second.base, user.token)
    try:
        assert ears.client.connected
        _dropped(ears, "the socket to be disconnected at its token's expiry",
                 timeout=SHORT_ACCESS_S + 8)
        assert user.get("/api/users/me").status_code == 401  # the token itself expired too
        with pytest.raises(socketio.exceptions.ConnectionError):  # nor open a new socket
            _socket(second.base, user.token)
    finally:
        ears.close()
