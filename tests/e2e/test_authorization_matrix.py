"""Who may call what: every endpoint × {anonymous, another user, an admin, the seller, the buyer}.

The table below is the whole API. The endpoints are read from the running app's OpenAPI document
and from the app's url_map (which also holds the callbacks and the docs); an endpoint that is
not in the table fails the test, and so does a row for an endpoint that no longer exists.
Adding an endpoint: add one ``row(...)``. A call that ends every session of its caller (log out
everywhere, a password change) takes ``throwaway=True``: each actor is then a new account of its
role, so the parties' own sessions live on for the rows after it. Path parameters other than the
ids take ``params={"name": "value"}``.

Ids in paths are real objects of the deal's parties, so another user's answer tests IDOR; it
must also be exactly the answer for an id that does not exist (nothing tells them apart).
Actors call in column order, authorized ones last, so a state-changing call by its rightful
actor (pay, deliver, release, dispute, resolve) comes after every refusal on the same object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from adapters.settings import Settings
from api import create_app
from tests.helpers import PASSWORD, Api, funded_deal, make_admin, open_deal, register
from tests.stack import Stack

ACTORS = ("anonymous", "other", "admin", "seller", "buyer")  # the columns, in calling order
ADMIN_PASSWORD = "an operator password"  # tests.helpers.make_admin's
PHONE = "254708374149"


@dataclass
class World:
    """The deal's parties, an outsider, an admin, and real objects that belong to the parties."""

    stack: Stack
    users: dict[str, Api]
    deals: dict[str, str] = field(default_factory=dict)  # name → deal id
    ids: dict[str, str] = field(default_factory=dict)  # path parameter → a real object's id

    def caller(self, actor: str, fresh: bool = False, throwaway: bool = False) -> Api:
        """The actor's client; ``fresh``: newly signed in (for calls that revoke the token);
        ``throwaway``: a new account of the actor's role (for calls that end every session)."""
        if actor == "anonymous":
            return Api(self.stack.api)
        if throwaway:
            return make_admin(self.stack) if actor == "admin" else register(
                self.stack, "seller" if actor == "seller" else "buyer")
        api = self.users[actor]
        if not fresh:
            return api
        password = ADMIN_PASSWORD if actor == "admin" else PASSWORD
        again = Api(self.stack.api)
        session = again.data("POST", "/api/auth/login",
                             {"email": api.user["email"], "password": password})
        again.token, again.refresh, again.user = (session["accessToken"],
                                                  session["refreshToken"], api.user)
        return again


Body = Callable[[World, str], Any]


@dataclass(frozen=True)
class Row:
    method: str
    path: str  # as OpenAPI writes it: /api/transactions/{deal_id}
    expect: tuple[int, ...]  # one status per actor, in ACTORS order
    on: str = "pending"  # which deal ``{deal_id}`` is
    body: Body | None = None
    idempotent_key: bool = False  # send a new Idempotency-Key with each call
    fresh: bool = False  # each actor signs in anew first (the call revokes its token)
    throwaway: bool = False  # each actor is a new account of its role (the call ends them all)
    refresh_token: bool = False  # the actor presents its refresh token, not its access token
    params: dict[str, str] = field(default_factory=dict)  # other path parameters' values


def row(endpoint: str, *expect: int, **options: Any) -> Row:
    method, path = endpoint.split(" ", 1)
    assert len(expect) == len(ACTORS), endpoint
    return Row(method, path, expect, **options)


def _new_account(world: World, actor: str) -> dict[str, Any]:
    return {"email": f"matrix-{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD,
            "firstName": "Matrix", "lastName": "New", "role": "buyer"}


def _buyer_login(world: World, actor: str) -> dict[str, Any]:
    return {"email": world.users["buyer"].user["email"], "password": PASSWORD}


def _new_deal(world: World, actor: str) -> dict[str, Any]:
    return {"title": "Matrix deal", "description": "opened by the matrix", "amount": 100,
            "sellerEmail": world.users["seller"].user["email"]}


def _password_change(world: World, actor: str) -> dict[str, Any]:
    return {"currentPassword": ADMIN_PASSWORD if actor == "admin" else PASSWORD,
            "newPassword": "a new password for the matrix"}


def _const(body: dict[str, Any]) -> Body:
    return lambda world, actor: body


WRONG = "guessed-token-0000"
MATRIX: list[Row] = [
    #    endpoint                                   anon other admin seller buyer
    row("POST /api/auth/register",                  201, 201, 201, 201, 201, body=_new_account),
    row("POST /api/auth/login",                     200, 200, 200, 200, 200, body=_buyer_login),
    row("POST /api/auth/refresh",                   401, 200, 200, 200, 200, fresh=True,
        refresh_token=True),
    row("POST /api/auth/logout",                    401, 200, 200, 200, 200, throwaway=True),
    row("POST /api/auth/logout-all",                401, 200, 200, 200, 200, throwaway=True),
    row("GET /api/users/me",                        401, 200, 200, 200, 200),
    row("PUT /api/users/me/password",               401, 200, 200, 200, 200, throwaway=True,
        body=_password_change),
    row("PUT /api/users/me",                        401, 200, 200, 200, 200,
        body=_const({"lastName": "Tester"})),
    row("GET /api/transactions",                    401, 200, 200, 200, 200),
    row("POST /api/transactions",                   401, 201, 403, 403, 201, body=_new_deal),
    row("GET /api/transactions/{deal_id}",          401, 404, 200, 200, 200),
    row("PUT /api/transactions/{deal_id}",          401, 404, 403, 403, 200,
        body=_const({"title": "Renamed by its buyer"})),
    row("DELETE /api/transactions/{deal_id}",       401, 404, 403, 403, 200, on="to_cancel"),
    row("POST /api/transactions/{deal_id}/pay",     401, 404, 403, 403, 202, on="to_pay",
        body=_const({"phone": PHONE}), idempotent_key=True),
    row("GET /api/transactions/{deal_id}/payments", 401, 404, 200, 200, 200, on="active"),
    row("GET /api/transactions/{deal_id}/ledger",   401, 404, 200, 200, 200, on="active"),
    row("POST /api/transactions/{deal_id}/deliver", 401, 404, 403, 200, 403, on="active"),
    row("POST /api/transactions/{deal_id}/release", 401, 404, 403, 403, 200, on="active"),
    row("POST /api/transactions/{deal_id}/dispute", 401, 404, 403, 200, 409, on="disputable",
        body=_const({"reason": "not as described"})),
    row("POST /api/transactions/{deal_id}/resolve", 401, 403, 200, 403, 403, on="disputable",
        body=_const({"outcome": "refund", "note": "matrix"})),
    row("GET /api/payments/{payment_id}",           401, 404, 200, 200, 200),
    row("GET /api/wallet",                          401, 200, 200, 200, 200),
    row("GET /api/wallet/withdrawals",              401, 200, 200, 200, 200),
    # The buyer's wallet holds the refund resolved above; the outsider's and the admin's none.
    row("POST /api/wallet/withdrawals",             401, 409, 409, 202, 202,
        body=_const({"amount": 10, "phone": PHONE}), idempotent_key=True),
    row("GET /api/wallet/withdrawals/{payout_id}",  401, 404, 200, 200, 404),
    row("GET /api/notifications",                   401, 200, 200, 200, 200),
    row("POST /api/notifications/{notification_id}/read", 401, 404, 404, 200, 404),
    row("POST /api/notifications/read-all",         401, 200, 200, 200, 200),
    row("GET /api/admin/callbacks",                 401, 403, 200, 403, 403),
    row("GET /api/admin/audit",                     401, 403, 200, 403, 403),
    row("GET /api/health",                          200, 200, 200, 200, 200),
    row("GET /api/ready",                           200, 200, 200, 200, 200),
    row("GET /api/openapi.json",                    200, 200, 200, 200, 200),
    row("GET /api/docs",                            200, 200, 200, 200, 200),
    row("GET /api/redoc",                           200, 200, 200, 200, 200),
    row("GET /api/docs/assets/{bundle}/{filename}", 200, 200, 200, 200, 200,
        params={"bundle": "swagger-ui", "filename": "swagger-ui-bundle.js"}),
    # The demo page (development and test only; tests/e2e/test_demo.py: 404 in production).
    row("GET /demo",                                200, 200, 200, 200, 200),
    row("GET /demo/assets/{filename}",              200, 200, 200, 200, 200,
        params={"filename": "demo.js"}),
    # Callbacks are M-Pesa's: a bearer token changes nothing; the path token is the secret.
    row("POST /api/mpesa/stk/callback/{token}",     404, 404, 404, 404, 404),
    row("POST /api/mpesa/b2c/result/{token}",       404, 404, 404, 404, 404),
    row("POST /api/mpesa/b2c/timeout/{token}",      404, 404, 404, 404, 404),
    row("POST /api/mpesa/status/result/{token}",    404, 404, 404, 404, 404),
    row("POST /api/mpesa/status/timeout/{token}",   404, 404, 404, 404, 404),
]
NOT_API = {"static"}  # url_map endpoints that are not ours to authorize (Flask's static files)


def _openapi_endpoints(stack: Stack) -> set[tuple[str, str]]:
    document = requests.get(f"{stack.api}/api/openapi.json", timeout=10).json()
    return {(method.upper(), path) for path, operations in document["paths"].items()
            for method in operations if method in ("get", "post", "put", "patch", "delete")}


def _url_map_endpoints(stack: Stack) -> set[tuple[str, str]]:
    """The same app the stack serves, built in this process for its url_map."""
    name = stack.scratch_db("matrix")
    app = create_app(Settings(redis_url=stack.env["REDIS_URL"], mongo_url=stack.env["MONGO_URL"],
                              mongo_db=name, socketio_channel=f"matrix-{name}"))
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in NOT_API:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {(method, path) for method in rule.methods or () if method not in
                  ("HEAD", "OPTIONS")}
    return found


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    other, admin = register(stack, "buyer"), make_admin(stack)
    w = World(stack, {"seller": seller, "buyer": buyer, "other": other, "admin": admin})
    for name in ("pending", "to_cancel", "to_pay"):
        w.deals[name] = open_deal(buyer, seller, amount=300)["id"]
    for name in ("active", "disputable", "done"):
        w.deals[name] = funded_deal(stack, buyer, seller, amount=1000)["id"]
    buyer.data("POST", f"/api/transactions/{w.deals['done']}/release")
    w.ids["payment_id"] = buyer.data(
        "GET", f"/api/transactions/{w.deals['active']}/payments")[0]["id"]
    w.ids["payout_id"] = seller.data("POST", "/api/wallet/withdrawals",
                                     {"amount": 100, "phone": PHONE}, expect=202,
                                     headers={"Idempotency-Key": uuid.uuid4().hex})["id"]
    w.ids["notification_id"] = seller.data("GET", "/api/notifications?limit=1")["items"][0]["id"]
    w.ids["token"] = WRONG
    yield w


def _path(world: World, r: Row, nonexistent: bool = False) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in r.params:
            return r.params[name]
        if nonexistent and name != "token":
            return uuid.uuid4().hex[:24]
        return world.deals[r.on] if name == "deal_id" else world.ids[name]

    return re.sub(r"\{([^}]+)\}", fill, r.path)


def _call(world: World, r: Row, actor: str, nonexistent: bool = False) -> requests.Response:
    api = world.caller(actor, fresh=r.fresh, throwaway=r.throwaway)
    headers = {"Idempotency-Key": uuid.uuid4().hex} if r.idempotent_key else {}
    if r.refresh_token and api.refresh:
        headers["Authorization"] = f"Bearer {api.refresh}"
    body = r.body(world, actor) if r.body else None
    return api.call(r.method, _path(world, r, nonexistent), json=body, headers=headers)


def test_the_matrix_covers_every_endpoint_the_app_serves(stack: Stack) -> None:
    table = {(r.method, r.path) for r in MATRIX}
    served = _openapi_endpoints(stack) | _url_map_endpoints(stack)
    assert sorted(served - table) == [], "endpoints with no row in MATRIX: add one"
    assert sorted(table - served) == [], "rows for endpoints that no longer exist"
    assert len(table) == len(MATRIX), "two rows for one endpoint"


def test_every_actor_gets_exactly_its_status_on_every_endpoint(world: World) -> None:
    wrong = []
    for r in MATRIX:
        for actor, expected in zip(ACTORS, r.expect, strict=True):
            answer = _call(world, r, actor)
            if answer.status_code != expected:
                wrong.append(f"{r.method} {r.path} as {actor}: {answer.status_code}, expected "
                             f"{expected}: {answer.text[:160]}")
            elif expected >= 400 and r.method != "HEAD":
                body = answer.json()
                if body.get("success") is not False or "code" not in body.get("error", {}):
                    wrong.append(f"{r.method} {r.path} as {actor}: not in the error envelope")
    assert wrong == [], "\n".join(wrong)


def test_another_users_object_answers_exactly_as_an_id_that_does_not_exist(
    world: World,
) -> None:
    leaks = []
    for r in MATRIX:
        if not re.search(r"\{(deal|payment|payout|notification)_id\}", r.path):
            continue
        theirs, missing = _call(world, r, "other"), _call(world, r, "other", nonexistent=True)
        seen = [(a.status_code, a.json()["error"]["code"], a.json()["error"]["message"])
                for a in (theirs, missing)]
        if seen[0] != seen[1] or seen[0][0] not in (403, 404):
            leaks.append(f"{r.method} {r.path}: theirs {seen[0]}, nonexistent {seen[1]}")
    assert leaks == [], "\n".join(leaks)
