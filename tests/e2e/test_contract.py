"""schemathesis over the whole OpenAPI document the running API serves: whatever a client
generated from the spec would send, the server answers as the spec says (a declared status,
a body of the declared schema and content type, never a 5xx). See docs/API.md, "Contract".

Bound: ``MAX_EXAMPLES`` cases per operation and generation mode (positive and negative),
derandomized so that a run is the same run every time; about a minute on 2 cores at the
default of 10 (``CONTRACT_MAX_EXAMPLES=30`` or more for a deeper run: docs/API.md)."""

from __future__ import annotations

import os
import uuid
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers import PASSWORD, Api, make_admin, open_deal, pay, register
from tests.stack import Stack

MAX_EXAMPLES = int(os.environ.get("CONTRACT_MAX_EXAMPLES", "10"))
# /api/auth/* share the test stack's RATELIMIT_AUTH (1000/minute per route); each refresh case
# also signs in for a fresh refresh token. Past about 60 cases a 429 would answer first.
AUTH_MAX_EXAMPLES = min(MAX_EXAMPLES, 30)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, ignored_auth]
# Schema-valid requests must be accepted (2xx, or 401/403/404/409: who asks, and the state):
# a rule the server enforces and the spec does not state fails here.
POSITIVE_CHECKS = [*CHECKS, positive_data_acceptance]
FUTURE = "2099-01-01T00:00:00Z"


class Actors:
    """A buyer, a seller and an admin; a deal between the first two, a payment and a
    notification: ids the fuzzer's random ones are swapped for once per case, so that success
    answers are checked too."""

    def __init__(self, stack: Stack) -> None:
        self.buyer, self.seller = register(stack, "buyer"), register(stack, "seller")
        self.admin = make_admin(stack)
        deal = open_deal(self.buyer, self.seller)
        paid = open_deal(self.buyer, self.seller)
        payment = pay(self.buyer, paid["id"], "254708374149").json()["data"]
        note = self.seller.data("GET", "/api/notifications")["items"][0]
        self.ids = {"deal_id": deal["id"], "payment_id": payment["id"],
                    "notification_id": note["id"]}

    def satisfy(self, case: Any) -> None:
        """The two rules no schema can say (docs/API.md, "Contract"): the seller named exists,
        and a due date is in the future. Only what the fuzzer chose is replaced; a body
        naming both sellerEmail and sellerId (the spec's oneOf forbids it) still names both."""
        body = case.body if isinstance(case.body, dict) else None
        if body is None or not case.operation.path.startswith("/api/transactions"):
            return
        if "sellerEmail" in body:
            body["sellerEmail"] = self.seller.user["email"]
        if "sellerId" in body:
            body["sellerId"] = self.seller.user["id"]
        if body.get("dueDate"):
            body["dueDate"] = FUTURE

    def token(self, api: Api, security: list[dict[str, Any]] | None) -> dict[str, str]:
        if security == []:
            return {}
        if security and "refreshBearer" in security[0]:
            if api is self.admin:
                return {"Authorization": f"Bearer {api.token}"}  # the wrong kind: refused
            # A refresh token works once (rotation): ask for a fresh pair each time.
            session = requests.post(f"{api.base}/api/auth/login", timeout=15, json={
                "email": api.user["email"], "password": PASSWORD}).json()["data"]
            return {"Authorization": f"Bearer {session['refreshToken']}"}
        return {"Authorization": f"Bearer {api.token}"}


@pytest.fixture(scope="module")
def actors(stack: Stack) -> Actors:
    return Actors(stack)


# These end the caller's sessions (and a wrong currentPassword counts towards its lockout): the
# fuzzer would sign its own actors out. Each of their cases runs as a new buyer of its own.
SESSION_ENDING = {"POST /api/auth/logout", "POST /api/auth/logout-all",
                  "PUT /api/users/me/password"}


def _fuzz(operation: Any, mode: GenerationMode, stack: Stack, actors: Actors,
          counted: list[int]) -> None:
    security = operation.definition.raw.get("security")

    examples = AUTH_MAX_EXAMPLES if operation.path.startswith("/api/auth/") else MAX_EXAMPLES

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        counted[0] += 1
        checks = CHECKS
        if mode is GenerationMode.POSITIVE:
            actors.satisfy(case)
            checks = POSITIVE_CHECKS
        if operation.label in SESSION_ENDING:
            if mode is GenerationMode.POSITIVE and isinstance(case.body, dict) \
                    and "currentPassword" in case.body:
                case.body["currentPassword"] = PASSWORD  # the one rule no schema can say
            own = register(stack, "buyer")
            case.call_and_validate(base_url=stack.api, headers=actors.token(own, security),
                                   checks=checks)
            return
        for api in (actors.buyer, actors.seller, actors.admin):
            case.call_and_validate(base_url=stack.api, headers=actors.token(api, security),
                                   checks=checks)
        known = {name: actors.ids[name] for name in (case.path_parameters or {})
                 if name in actors.ids}
        if known:
            case.path_parameters = {**case.path_parameters, **known}
            case.call_and_validate(base_url=stack.api,
                                   headers=actors.token(actors.buyer, security), checks=checks)

    run()


@pytest.mark.timeout(900)  # one test for every operation: about a minute, see the bound
def test_every_operation_answers_as_the_spec_says(stack: Stack, actors: Actors) -> None:
    schema = schemathesis.openapi.from_url(f"{stack.api}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    failures, counted = [], [0]
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, stack, actors, counted)
            except Unsatisfiable:  # nothing to make invalid: an operation without inputs
                assert mode is GenerationMode.NEGATIVE, operation.label
            except (Exception, BaseExceptionGroup) as failure:  # all, in one report
                failures.append(f"{operation.label} ({mode.value}): {failure}"[:3000])
    print(f"schemathesis: {counted[0]} cases over {len(operations)} operations")
    assert failures == [], "\n\n".join(failures)


def test_the_spec_declares_no_catch_all_and_only_the_envelope_for_errors(stack: Stack) -> None:
    spec = requests.get(f"{stack.api}/api/openapi.json", timeout=10).json()
    refs = set()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            assert "default" not in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    refs.add(response["$ref"].rsplit("/", 1)[-1])
    for name in refs:
        schema_ref = spec["components"]["responses"][name]["content"]["application/json"]
        assert schema_ref["schema"]["$ref"].endswith("/Error"), name
    for name in ("TOO_MANY_REQUESTS", "SERVICE_UNAVAILABLE"):
        assert "Retry-After" in spec["components"]["responses"][name]["headers"], name
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"success", "error", "timestamp"}
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["properties"]) == {"code", "message", "details", "requestId"}


@pytest.mark.parametrize(("method", "path", "security"), [
    ("post", "/api/auth/register", []), ("post", "/api/auth/login", []),
    ("get", "/api/health", []), ("get", "/api/ready", []),
    ("post", "/api/mpesa/stk/callback/{token}", []),
    ("get", "/api/docs", []), ("get", "/api/redoc", []), ("get", "/api/openapi.json", []),
    ("post", "/api/auth/refresh", [{"refreshBearer": []}]),
    ("get", "/api/transactions", [{"bearer": []}]),
    ("post", "/api/transactions/{deal_id}/pay", [{"bearer": []}]),
])
def test_each_operation_declares_the_token_the_server_asks_for(
        stack: Stack, method: str, path: str, security: list[dict[str, Any]]) -> None:
    spec = requests.get(f"{stack.api}/api/openapi.json", timeout=10).json()
    assert spec["paths"][path][method]["security"] == security


def test_a_public_operation_answers_without_a_token(stack: Stack) -> None:
    body = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.com", "password": "x"}
    assert requests.post(f"{stack.api}/api/auth/login", json=body, timeout=10).status_code == 401
    assert requests.get(f"{stack.api}/api/ready", timeout=10).status_code == 200
