"""One request id follows a paid deal through every process's JSON log lines, and no log of
any process holds a phone number, a password, a token or an M-Pesa credential."""

from __future__ import annotations

import json
from typing import Any

from adapters.observability import mask_phones
from adapters.settings import SANDBOX_PASSKEY, Settings
from tests.helpers import PASSWORD, database, open_deal, pay, register, wait_for_payment, wait_until
from tests.stack import Stack

PHONE = "254708374149"  # the sandbox's good test phone: the push succeeds


def _records(stack: Stack) -> list[tuple[str, dict[str, Any]]]:
    """Every JSON line of every process of the stack, with the process's name."""
    records = []
    for name in list(stack.processes):
        for line in _text(stack, name).splitlines():
            if line.startswith("{"):
                try:
                    records.append((name, json.loads(line)))
                except ValueError:
                    pass  # a line cut by a process still writing
    return records


def _text(stack: Stack, name: str) -> str:
    path = stack.log(name)
    return path.read_text(errors="replace") if path.exists() else ""


def _task_lines(stack: Stack, task: str, args: list[str]) -> list[dict[str, Any]]:
    """The lines of the run of ``task`` on ``args``, once its finish has been logged (an id
    with a run of nine digits in it would be masked like a phone number in the line)."""
    args = [mask_phones(arg) for arg in args]
    lines = [r for _, r in _records(stack) if r.get("task") == task and r.get("task_id")]
    ids = {r["task_id"] for r in lines if r.get("task_args") == args}
    mine = [r for r in lines if r["task_id"] in ids]
    return mine if any(r["event"] == "task finished" for r in mine) else []


def test_the_pay_calls_request_id_follows_the_deal_through_the_workers_to_the_callback(
    stack: Stack,
) -> None:
    buyer, seller = register(stack, "buyer"), register(stack, "seller")
    deal = open_deal(buyer, seller)
    paid = pay(buyer, deal["id"], PHONE)
    assert paid.status_code == 202, paid.text
    request_id = paid.headers["X-Request-ID"]
    payment = wait_for_payment(buyer, paid.json()["data"]["id"], "success")
    wait_until(lambda: buyer.data("GET", f"/api/transactions/{deal['id']}")["status"] == "active",
               what="the deal to be funded")

    # The API: the pay call's access line, JSON, with its request id, status and path.
    def api_line() -> dict[str, Any] | None:
        return next((r for name, r in _records(stack) if name.startswith("api")
                     and r.get("request_id") == request_id and r.get("status") == 202), None)

    access = wait_until(api_line, what="the pay call's access line")
    assert access["path"] == f"/api/transactions/{deal['id']}/pay"
    assert access["method"] == "POST" and access["logger"] == "gunicorn.access"

    # The push: every line of its task carries the pay call's request id and the task's id.
    push = wait_until(lambda: _task_lines(stack, "payments.request_stk_push", [payment["id"]]),
                      what="the push task's lines")
    assert {r.get("request_id") for r in push} == {request_id}
    assert any("succeeded" in r["event"] for r in push), push  # Celery's own line too

    # The callback: its processing task carries the request id of the callback's HTTP request,
    # and that request's access line is there under the same id.
    stored = wait_until(lambda: database(stack)["mpesa_callbacks"].find_one(
        {"kind": "stk", "raw": {"$regex": payment["checkoutRequestId"]}}),
        what="the stored callback")
    processing = wait_until(lambda: _task_lines(stack, "callbacks.process", [stored["_id"]]),
                            what="the callback processing task's lines")
    callback_request = processing[0]["request_id"]
    assert callback_request and callback_request != request_id
    assert {r.get("request_id") for r in processing} == {callback_request}
    intake = [r for name, r in _records(stack) if name.startswith("api")
              and r.get("request_id") == callback_request]
    assert any(r.get("path") == "/api/mpesa/stk/callback/[redacted]" for r in intake), intake

    # Nothing that must stay secret reached any log of any process.
    defaults = Settings()
    secrets = {
        "a full phone number": PHONE, "a password": PASSWORD, "a JWT": "eyJ",
        "the callback token": stack.env["MPESA_CALLBACK_TOKEN"],
        "the JWT secret": stack.env["JWT_SECRET_KEY"],
        "the consumer key": stack.env.get("MPESA_CONSUMER_KEY", defaults.mpesa_consumer_key),
        "the consumer secret": stack.env.get("MPESA_CONSUMER_SECRET",
                                             defaults.mpesa_consumer_secret),
        "the passkey": stack.env.get("MPESA_PASSKEY", SANDBOX_PASSKEY),
        "the initiator password": defaults.mpesa_initiator_password,
    }
    for name in list(stack.processes):
        text = _text(stack, name)
        leaked = [what for what, value in secrets.items() if value in text]
        assert not leaked, f"{name}'s log holds {', '.join(leaked)}"
