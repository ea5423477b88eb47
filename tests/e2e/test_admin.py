"""Operators make admins with the CLI; admins see every deal but cannot act as a party."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from tests.helpers import Api, open_deal, pay, register
from tests.stack import ROOT, Stack


def _create_admin(stack: Stack, email: str, password: str) -> subprocess.CompletedProcess[str]:
    flask = Path(sys.executable).parent / "flask"
    return subprocess.run(
        [str(flask), "--app", "wsgi", "create-admin", email, "--password", password],
        cwd=ROOT, env={**stack.env, "PATH": str(flask.parent)}, capture_output=True, text=True,
        timeout=60,
    )


def test_an_admin_made_by_the_cli_sees_every_deal_but_cannot_pay(stack: Stack) -> None:
    email, password = f"ops-{uuid.uuid4().hex[:8]}@example.com", "an operator password"
    made = _create_admin(stack, email, password)
    assert made.returncode == 0, made.stderr
    assert email in made.stdout and password not in made.stdout

    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    deal = open_deal(buyer, seller)
    admin = Api(stack.api)
    session = admin.data("POST", "/api/auth/login", {"email": email, "password": password})
    admin.token = session["accessToken"]
    assert session["user"]["role"] == "admin"
    assert admin.data("GET", f"/api/transactions/{deal['id']}")["id"] == deal["id"]
    everything = admin.data("GET", "/api/transactions?limit=100")
    assert everything["total"] >= 1
    assert pay(admin, deal["id"], "254708374149").status_code == 403
    assert admin.call("DELETE", f"/api/transactions/{deal['id']}").status_code == 403


def test_the_cli_refuses_a_short_password_and_a_taken_email(stack: Stack) -> None:
    short = _create_admin(stack, f"ops-{uuid.uuid4().hex[:8]}@example.com", "short")
    assert short.returncode != 0 and "password" in short.stderr
    taken = register(stack, "buyer").user["email"]
    again = _create_admin(stack, taken, "a long enough password")
    assert again.returncode != 0 and "already exists" in again.stderr
