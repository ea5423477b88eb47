"""Accounts and tokens, per API.md."""

from __future__ import annotations

import uuid

from tests.helpers import PASSWORD, Api, register
from tests.stack import Stack


def _body(**changes: str) -> dict[str, str]:
    body = {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
            "firstName": "Wanjiru", "lastName": "Kamau", "role": "buyer"}
    body.update(changes)
    return body


def test_registering_returns_the_user_and_both_tokens_but_never_the_hash(stack: Stack) -> None:
    response = Api(stack.api).post("/api/auth/register", _body(phone="0712345678"))
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["accessToken"] and data["refreshToken"]
    assert data["user"]["role"] == "buyer" and data["user"]["phone"] == "2547****678"
    assert "password" not in response.text and "passwordHash" not in response.text


def test_admins_cannot_register_themselves(stack: Stack) -> None:
    response = Api(stack.api).post("/api/auth/register", _body(role="admin"))
    assert response.status_code == 422
    assert "role" in response.json()["error"]["details"]


def test_an_email_can_hold_one_account(stack: Stack) -> None:
    body = _body()
    assert Api(stack.api).post("/api/auth/register", body).status_code == 201
    again = Api(stack.api).post("/api/auth/register", {**body, "email": body["email"].upper()})
    assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(stack: Stack) -> None:
    user = register(stack, "seller")
    wrong = Api(stack.api).post("/api/auth/login", {"email": user.user["email"],
                                                    "password": "not the password"})
    unknown = Api(stack.api).post("/api/auth/login", {"email": "nobody@example.com",
                                                      "password": "not the password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]
    good = Api(stack.api).post("/api/auth/login", {"email": user.user["email"],
                                                   "password": PASSWORD})
    assert good.status_code == 200 and good.json()["data"]["user"]["id"] == user.user["id"]


def test_a_refresh_token_works_once_and_is_then_rotated(stack: Stack) -> None:
    user = register(stack, "buyer")
    first = user.post("/api/auth/refresh", headers={"Authorization": f"Bearer {user.refresh}"})
    assert first.status_code == 200
    fresh = first.json()["data"]
    replay = user.post("/api/auth/refresh", headers={"Authorization": f"Bearer {user.refresh}"})
    assert replay.status_code == 401
    again = user.post("/api/auth/refresh",
                      headers={"Authorization": f"Bearer {fresh['refreshToken']}"})
    assert again.status_code == 200
    access_as_refresh = user.post("/api/auth/refresh",
                                  headers={"Authorization": f"Bearer {fresh['accessToken']}"})
    assert access_as_refresh.status_code == 401


def test_logout_revokes_the_presented_tokens(stack: Stack) -> None:
    user = register(stack, "buyer")
    assert user.get("/api/users/me").status_code == 200
    out = user.post("/api/auth/logout", {"refreshToken": user.refresh})
    assert out.status_code == 200
    assert user.get("/api/users/me").status_code == 401
    refreshed = user.post("/api/auth/refresh", headers={"Authorization": f"Bearer {user.refresh}"})
    assert refreshed.status_code == 401


def test_the_profile_can_be_read_and_edited(stack: Stack) -> None:
    user = register(stack, "seller")
    me = user.data("GET", "/api/users/me")
    assert me["email"] == user.user["email"] and me["role"] == "seller"
    edited = user.data("PUT", "/api/users/me", {"firstName": "Achieng", "phone": "+254110123456"})
    assert edited["firstName"] == "Achieng" and edited["phone"] == "2541****456"
    refused = user.call("PUT", "/api/users/me", json={"role": "admin"})
    assert refused.status_code == 422 and "role" in refused.json()["error"]["details"]
    assert user.data("GET", "/api/users/me")["role"] == "seller"


def test_protected_endpoints_refuse_missing_and_forged_tokens(stack: Stack) -> None:
    anonymous = Api(stack.api)
    assert anonymous.get("/api/users/me").status_code == 401
    forged = anonymous.get("/api/users/me", headers={"Authorization": "Bearer abc.def.ghi"})
    assert forged.status_code == 401
    assert forged.json()["error"]["code"] == "UNAUTHORIZED"
