"""A stolen, refreshed (non-fresh) access token cannot send the wallet to a new phone nor
change the profile phone: that needs a fresh sign-in or the password in the body."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.helpers import PASSWORD, Api, balance, database, funded_deal, register
from tests.stack import Stack

PROFILE_PHONE, OTHER_PHONE = "254712340001", "254712340002"


def _refreshed(api: Api) -> Api:
    """The same person holding only a refreshed (non-fresh) access token."""
    pair = api.data("POST", "/api/auth/refresh",
                    headers={"Authorization": f"Bearer {api.refresh}"})
    return Api(api.base, pair["accessToken"], api.user, pair["refreshToken"])


def _withdraw(api: Api, phone: str, key: str | None = None, **extra: Any) -> requests.Response:
    return api.post("/api/wallet/withdrawals", {"amount": 100, "phone": phone} | extra,
                    headers={"Idempotency-Key": key or uuid.uuid4().hex})


def _payouts(stack: Stack, api: Api) -> int:
    return database(stack)["payouts"].count_documents({"userId": api.user["id"]})


def _refused_for_password(response: requests.Response) -> None:
    assert response.status_code == 401, response.text
    error = response.json()["error"]
    assert error["code"] == "UNAUTHORIZED" and "password" in error["details"]
    assert "password" in error["message"]


def test_a_non_fresh_token_cannot_withdraw_to_a_new_phone_without_the_password(
    stack: Stack,
) -> None:
    seller, buyer = register(stack, "seller", phone=PROFILE_PHONE), register(stack, "buyer")
    deal = funded_deal(stack, buyer, seller, amount=2000)
    buyer.data("POST", f"/api/transactions/{deal['id']}/release")
    stolen = _refreshed(seller)
    held = balance(seller)
    _refused_for_password(_withdraw(stolen, OTHER_PHONE))
    _refused_for_password(_withdraw(stolen, OTHER_PHONE, password="not the password"))
    assert balance(seller) == held and _payouts(stack, seller) == 0

    key = uuid.uuid4().hex
    with_password = _withdraw(stolen, OTHER_PHONE, key, password=PASSWORD)
    assert with_password.status_code == 202, with_password.text
    replay = _withdraw(stolen, OTHER_PHONE, key, password=PASSWORD)
    assert replay.status_code == 202
    assert replay.json()["data"]["id"] == with_password.json()["data"]["id"]
    stored = database(stack)["payouts"].find_one({"_id": with_password.json()["data"]["id"]})
    assert stored is not None and PASSWORD not in str(stored)
    to_profile = _withdraw(stolen, "0712340001")  # the profile's phone: a non-fresh token will do
    assert to_profile.status_code == 202, to_profile.text
    fresh_key = uuid.uuid4().hex
    fresh = _withdraw(seller, OTHER_PHONE, fresh_key)  # the token of a sign-in: fresh
    assert fresh.status_code == 202, fresh.text
    # A resend of that request after the client's token was refreshed is the same request:
    # it answers the first response (no money moves again), without asking for proof again.
    resent = _withdraw(stolen, OTHER_PHONE, fresh_key)
    assert resent.status_code == 202, resent.text
    assert resent.json()["data"]["id"] == fresh.json()["data"]["id"]
    other_body = _withdraw(stolen, OTHER_PHONE, fresh_key, amount=150)
    assert other_body.status_code == 422  # same key, other body: IDEMPOTENCY_MISMATCH, as before
    assert other_body.json()["error"]["code"] == "IDEMPOTENCY_MISMATCH"
    assert _payouts(stack, seller) == 3 and balance(seller) == held - 300


def test_a_non_fresh_token_cannot_change_the_profile_phone_without_the_password(
    stack: Stack,
) -> None:
    user = register(stack, "buyer", phone=PROFILE_PHONE)
    stolen = _refreshed(user)
    users = database(stack)["users"]
    refused = stolen.call("PUT", "/api/users/me", json={"phone": OTHER_PHONE})
    _refused_for_password(refused)
    wrong = stolen.call("PUT", "/api/users/me", json={"phone": OTHER_PHONE,
                                                      "password": "not the password"})
    _refused_for_password(wrong)
    assert users.find_one({"_id": user.user["id"]})["phone"] == PROFILE_PHONE  # type: ignore[index]
    named = stolen.call("PUT", "/api/users/me", json={"firstName": "Njeri"})
    assert named.status_code == 200  # a name is not a way to the money
    same = stolen.call("PUT", "/api/users/me", json={"phone": "0712340001"})
    assert same.status_code == 200  # the phone it already has
    proved = stolen.call("PUT", "/api/users/me", json={"phone": OTHER_PHONE,
                                                       "password": PASSWORD})
    assert proved.status_code == 200 and proved.json()["data"]["phone"] == "2547****002"
    fresh = user.call("PUT", "/api/users/me", json={"phone": PROFILE_PHONE})
    assert fresh.status_code == 200
    assert users.find_one({"_id": user.user["id"]})["phone"] == PROFILE_PHONE  # type: ignore[index]
