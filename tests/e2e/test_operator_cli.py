"""The operator's CLI (``flask --app wsgi …``) against the running stack's Mongo and Redis."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from adapters.observability import mask_phones
from adapters.settings import Settings
from api import create_app
from devstack.run import write_stack_env
from tests.helpers import PASSWORD as HELPERS_PASSWORD
from tests.helpers import (
    Api,
    database,
    open_deal,
    pay,
    register,
    run_task,
    wait_for_payment,
    wait_until,
)
from tests.stack import ROOT, Stack

FLASK = Path(sys.executable).parent / "flask"
PASSWORD = "an operator password"
NO_CALLBACK_PHONE = "254700000005"  # the push succeeds; its callback never comes


@pytest.fixture(scope="module")
def app(stack: Stack) -> Flask:
    return create_app(Settings(
        app_env="test", mongo_url=stack.env["MONGO_URL"], mongo_db=stack.env["MONGO_DB"],
        redis_url=stack.env["REDIS_URL"], mpesa_callback_token=stack.callback_token))


def _cli(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def _login(stack: Stack, email: str, password: str) -> requests.Response:
    return requests.post(f"{stack.api}/api/auth/login",
                         json={"email": email, "password": password}, timeout=10)


def _email() -> str:
    return f"ops-{uuid.uuid4().hex[:8]}@example.com"


def test_create_admin_asks_for_the_password_twice_with_the_typing_hidden(
    app: Flask, stack: Stack,
) -> None:
    email = _email()
    result = _cli(app, "create-admin", email, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output  # hidden while typed
    assert "Repeat for confirmation" in result.output
    session = _login(stack, email, PASSWORD)
    assert session.status_code == 200 and session.json()["data"]["user"]["role"] == "admin"


def test_create_admin_refuses_a_mistyped_confirmation(app: Flask) -> None:
    result = _cli(app, "create-admin", _email(), input=f"{PASSWORD}\nanother one\n"
                  f"{PASSWORD}\n{PASSWORD}\n")
    assert "do not match" in result.output and result.exit_code == 0


def test_a_password_on_the_command_line_still_works_with_a_warning(
    app: Flask, stack: Stack,
) -> None:
    email = _email()
    result = _cli(app, "create-admin", email, "--password", PASSWORD)
    assert result.exit_code == 0 and "shell's history" in result.output
    assert _login(stack, email, PASSWORD).status_code == 200


def test_the_cli_finds_the_make_run_stack_through_stack_env_and_reads_stdin(
    stack: Stack, tmp_path: Path,
) -> None:
    """No MONGO_URL nor REDIS_URL in the environment, ports that are not the defaults: the
    addresses `make run` wrote (devstack/run.py) are found; the password comes on stdin."""
    write_stack_env(tmp_path, {name: stack.env[name] for name in
                               ("MONGO_URL", "MONGO_DB", "REDIS_URL", "API_PORT")})
    env = {key: value for key, value in os.environ.items()
           if key not in ("MONGO_URL", "MONGO_DB", "REDIS_URL", "APP_ENV")}
    email = _email()
    done = subprocess.run([str(FLASK), "--app", "wsgi", "create-admin", email, "--password-stdin"],
                          cwd=ROOT, env={**env, "DATA_DIR": str(tmp_path)}, input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "created" in done.stdout
    assert _login(stack, email, PASSWORD).status_code == 200


def _flagged_malformed(stack: Stack) -> str:
    marker = uuid.uuid4().hex
    url = f"{stack.api}/api/mpesa/stk/callback/{stack.callback_token}"
    assert requests.post(url, json={"not": "daraja", "marker": marker}, timeout=10).ok
    db = database(stack)
    doc = wait_until(lambda: db.mpesa_callbacks.find_one(
        {"raw": {"$regex": marker}, "status": "flagged"}), what="the callback to be flagged")
    return str(doc["_id"])


def test_replay_callback_processes_a_flagged_callback_again(app: Flask, stack: Stack) -> None:
    callback_id = _flagged_malformed(stack)
    result = _cli(app, "replay-callback", callback_id)
    assert result.exit_code == 0, result.output
    db = database(stack)
    again = wait_until(lambda: db.mpesa_callbacks.find_one(
        {"_id": callback_id, "status": "flagged", "replays": {"$exists": True}}),
        what="the replayed callback to be processed again")
    assert len(again["replays"]) == 1
    assert again["replays"][0]["was"]["outcome"].startswith("malformed")
    assert again["processed"]["outcome"].startswith("malformed")  # verdict given anew


def test_review_callback_takes_it_off_the_flagged_list_with_a_note(
    app: Flask, stack: Stack,
) -> None:
    callback_id = _flagged_malformed(stack)
    result = _cli(app, "review-callback", callback_id, "--note", "not Safaricom's address")
    assert result.exit_code == 0, result.output
    doc = database(stack).mpesa_callbacks.find_one({"_id": callback_id})
    assert doc["status"] == "reviewed" and doc["review"]["note"] == "not Safaricom's address"
    assert doc["processed"]["outcome"].startswith("malformed")  # the verdict is kept
    twice = _cli(app, "review-callback", callback_id, "--note", "again")
    assert twice.exit_code != 0 and "no flagged callback" in twice.output


def test_replay_refuses_a_callback_refused_for_its_source(app: Flask, stack: Stack) -> None:
    """Replaying it would process a body from outside the allow-list: the allow-list decides
    (M-Pesa's next delivery from an allowed address is taken), never a replay."""
    guarded = create_app(Settings(
        app_env="test", mongo_url=stack.env["MONGO_URL"], mongo_db=stack.env["MONGO_DB"],
        redis_url=stack.env["REDIS_URL"], mpesa_callback_token=stack.callback_token,
        mpesa_callback_allowed_ips=("196.201.214.0/24",)))
    body = {"Body": {"stkCallback": {"MerchantRequestID": "m", "ResultCode": 1032,
                                     "CheckoutRequestID": f"ws_CO_{uuid.uuid4().hex[:16]}",
                                     "ResultDesc": "Request cancelled by user"}}}
    refused = guarded.test_client().post(f"/api/mpesa/stk/callback/{stack.callback_token}",
                                         json=body, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert refused.status_code == 403
    db = database(stack)
    doc = db.mpesa_callbacks.find_one({"raw": {"$regex": body["Body"]["stkCallback"][
        "CheckoutRequestID"]}})
    assert (doc["status"], doc["processed"]["outcome"]) == ("flagged", "source_not_allowed")
    result = _cli(app, "replay-callback", doc["_id"])
    assert result.exit_code != 0
    assert "refused for its source (203.0.113.9)" in result.output
    assert "MPESA_CALLBACK_ALLOWED_IPS" in result.output
    after = db.mpesa_callbacks.find_one({"_id": doc["_id"]})
    assert (after["status"], after["processed"]["outcome"], after.get("replays")) == (
        "flagged", "source_not_allowed", None)
    reviewed = _cli(app, "review-callback", doc["_id"], "--note", "not Safaricom's address")
    assert reviewed.exit_code == 0, reviewed.output
    assert _cli(app, "replay-callback", doc["_id"]).exit_code != 0  # reviewed: still refused
    assert db.mpesa_callbacks.find_one({"_id": doc["_id"]})["status"] == "reviewed"


def test_replay_and_review_refuse_an_unknown_callback(app: Flask) -> None:
    assert _cli(app, "replay-callback", "nope").exit_code != 0
    assert _cli(app, "review-callback", "nope", "--note", "x").exit_code != 0


def test_ensure_indexes_puts_back_a_dropped_index(stack: Stack) -> None:
    fresh = stack.scratch_db("cli")
    app = create_app(Settings(app_env="test", mongo_url=stack.env["MONGO_URL"], mongo_db=fresh,
                              redis_url=stack.env["REDIS_URL"]))
    payments = database(stack).client[fresh]["payments"]
    before = set(payments.index_information())
    payments.drop_indexes()
    assert set(payments.index_information()) == {"_id_"}
    result = _cli(app, "ensure-indexes")
    assert result.exit_code == 0, result.output
    assert set(payments.index_information()) == before


def test_sweep_enqueues_beats_task_now_for_a_worker(app: Flask, stack: Stack) -> None:
    now = f"2020-01-01T00:00:00.{uuid.uuid4().int % 10**6:06d}+00:00"  # marks this run
    result = _cli(app, "sweep", "callbacks.requeue_stale", "--now", now)
    assert result.exit_code == 0, result.output
    wait_until(lambda: now in stack.log("worker-recon").read_text(), timeout=20,
               what="the recon worker to run the sweep")
    ran = [line for line in stack.log("worker-recon").read_text().splitlines() if now in line]
    assert any("callbacks.requeue_stale" in line for line in ran)
    refused = _cli(app, "sweep", "payments.request_stk_push")
    assert refused.exit_code != 0  # only beat's sweeps, never a money movement by hand


def _request_id(output: str) -> str:
    printed = re.search(r"request id (cli-[0-9a-f]{32})", output)
    assert printed, output
    return printed.group(1)


@pytest.mark.parametrize("task", ["deals.auto_release", "deals.expire_unfunded",
                                  "ledger.repair_settlements"])
def test_a_sweep_that_moves_money_runs_as_of_now_only(app: Flask, stack: Stack, task: str) -> None:
    """``--now`` in the future would release every delivered deal to its seller (or cancel
    every pending one) early; in the past it is pointless: these run as beat runs them."""
    for when in ("2099-01-01T00:00:00+00:00", "2020-01-01T00:00:00+00:00"):
        refused = _cli(app, "sweep", task, "--now", when)
        assert refused.exit_code == 2, refused.output  # a usage error: nothing enqueued
        assert f"{task} moves or cancels money" in refused.output
        assert "enqueued" not in refused.output
    result = _cli(app, "sweep", task)  # as of now, as beat would
    assert result.exit_code == 0, result.output
    request_id = _request_id(result.output)
    wait_until(lambda: any(
        line.startswith("{") and request_id in line and json.loads(line).get("task") == task
        and json.loads(line)["event"] == "task finished"
        for line in stack.log("worker-recon").read_text().splitlines()),
        what=f"the recon worker to run {task} as of now")


@pytest.mark.parametrize("when,why", [
    ("2020-01-01T00:00:00", "needs a timezone"),  # naive: which clock's midnight?
    ("2099-01-01T00:00:00+00:00", "is in the future"),
    ("yesterday", "not an ISO 8601 instant"),
])
def test_sweep_refuses_a_now_without_a_timezone_or_in_the_future(
    app: Flask, when: str, why: str,
) -> None:
    refused = _cli(app, "sweep", "payments.reconcile", "--now", when)
    assert refused.exit_code == 2, refused.output
    assert why in refused.output and "--now" in refused.output
    assert "enqueued" not in refused.output


def test_sweep_accepts_a_now_within_the_clock_skew(app: Flask) -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat().replace("+00:00", "Z")
    result = _cli(app, "sweep", "payments.reconcile", "--now", soon)
    assert result.exit_code == 0, result.output


def test_production_refuses_now_altogether(stack: Stack) -> None:
    production = create_app(Settings(
        app_env="production", mongo_url=stack.env["MONGO_URL"],
        mongo_db=stack.scratch_db("cli_prod"), redis_url=stack.env["REDIS_URL"],
        mpesa_callback_token=stack.callback_token))
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    refused = _cli(production, "sweep", "payments.reconcile", "--now", past)
    assert refused.exit_code == 2, refused.output
    assert "--now is refused in production" in refused.output


def test_a_sweep_logs_who_ran_what(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    import getpass
    import logging

    with caplog.at_level(logging.INFO, logger="api.cli"):
        result = _cli(app, "sweep", "payouts.reconcile")
        refused = _cli(app, "sweep", "deals.auto_release", "--now", "2099-01-01T00:00:00Z")
    assert result.exit_code == 0 and refused.exit_code == 2
    ran = [r for r in caplog.records if r.getMessage() == "operator command"]
    assert len(ran) == 1, [r.getMessage() for r in caplog.records]
    record: Any = ran[0]
    assert (record.command, record.task, record.request_id, record.os_user) == (
        "sweep", "payouts.reconcile", _request_id(result.output), getpass.getuser())
    assert record.now is None
    denied: Any = next(r for r in caplog.records if r.getMessage() == "operator command refused")
    assert (denied.task, denied.now, denied.os_user) == (
        "deals.auto_release", "2099-01-01T00:00:00Z", getpass.getuser())
    assert "moves or cancels money" in denied.reason


def test_a_made_admin_can_list_flagged_callbacks(app: Flask, stack: Stack) -> None:
    email = _email()
    assert _cli(app, "create-admin", email, "--password-stdin",
                input=PASSWORD + "\n").exit_code == 0
    admin = Api(stack.api, _login(stack, email, PASSWORD).json()["data"]["accessToken"])
    assert admin.data("GET", "/api/admin/callbacks")["page"] == 1


def test_a_sweep_and_the_tasks_it_enqueues_carry_the_request_id_it_printed(
    app: Flask, stack: Stack,
) -> None:
    """A payment whose callback never comes is due an STK Query: the reconcile sweep enqueues
    it, and the query task logs under the sweep's request id."""
    buyer, seller = register(stack, "buyer"), register(stack, "seller")
    paid = pay(buyer, open_deal(buyer, seller)["id"], NO_CALLBACK_PHONE).json()["data"]
    wait_for_payment(buyer, paid["id"], "pending")
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()  # its first query is due
    result = _cli(app, "sweep", "payments.reconcile", "--now", soon)
    assert result.exit_code == 0, result.output
    printed = re.search(r"request id (cli-[0-9a-f]{32})", result.output)
    assert printed, result.output
    request_id = printed.group(1)

    def query_lines() -> list[dict[str, Any]] | None:
        lines = [json.loads(line) for line in stack.log("worker-payments").read_text()
                 .splitlines() if line.startswith("{") and request_id in line]
        queries = {r["task_id"] for r in lines if r.get("task") == "payments.query_stk"
                   and r.get("task_args") == [mask_phones(paid["id"])]}
        return lines if any(r["event"] == "task finished" and r["task_id"] in queries
                            for r in lines) else None

    lines = wait_until(query_lines, what="the query task's lines under the sweep's request id")
    assert all(r["request_id"] == request_id and r.get("task_id") for r in lines)
    # Leave the phone as it was found: a prompt still open on it makes every later push to
    # this test phone, in any test of the session, wait for it (one prompt per phone).
    _settle(stack, buyer, paid["id"])


def _settle(stack: Stack, buyer: Api, payment_id: str) -> None:
    """Janitor rounds, each later than the last (as beat would run them), until it is final."""
    later = [datetime.now(UTC)]

    def final() -> bool:
        later[0] += timedelta(seconds=30)
        run_task(stack, "payments.reconcile", now=later[0].isoformat())
        return buyer.data("GET", f"/api/payments/{payment_id}")["status"] not in (
            "queued", "pending")

    wait_until(final, timeout=40, every=0.5, what="the payment to be settled")


def test_unlock_account_lets_a_locked_account_sign_in_again(app: Flask, stack: Stack) -> None:
    buyer = register(stack, "buyer")
    email = buyer.user["email"]
    for _ in range(app.extensions["escrow"].settings.login_lock_threshold):
        assert _login(stack, email, "not the password at all").status_code == 401
    assert _login(stack, email, HELPERS_PASSWORD).status_code == 401  # locked
    result = _cli(app, "unlock-account", f"  {email.upper()} ")  # as an operator might type it
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{email} unlocked"
    assert _login(stack, email, HELPERS_PASSWORD).status_code == 200


def test_unlock_account_says_when_the_account_was_not_locked(app: Flask) -> None:
    email = _email()
    result = _cli(app, "unlock-account", email)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{email} was not locked"
