"""The README's walkthrough, and docs/API.md's Python Socket.IO client, run exactly as written
against a started stack.

The blocks fenced ```` ```sh walkthrough ```` in README.md are concatenated in order and run
with ``bash -euo pipefail`` (only ``API`` and ``FLASK``, which the README defaults to
``make run``'s address and ``.venv/bin/flask``, point at the test stack). A README change that
breaks them fails here; then the state they leave is checked through the API, as the README
describes it. The JavaScript client beside the Python one is not run here (no Node.js in the
suite's requirements)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.helpers import Api, open_deal, register, wait_until
from tests.stack import ROOT, Stack

PYTHON_CLIENT = re.compile(r"^```python socketio-client\n(.*?)^```[ \t]*$", re.S | re.M)
BLOCK = re.compile(r"^```sh walkthrough\n(.*?)^```[ \t]*$", re.S | re.M)
# What the test reads back after the README's blocks (not part of the README).
SHOWN = ("RUN", "SELLER", "BUYER", "ADMIN", "DEAL", "PAYMENT", "PAYOUT", "DEAL2", "FAILED",
         "PAYMENT2")
REPORT = "\n".join(f'printf "walkthrough:%s=%s\\n" {name} "${name}"' for name in SHOWN)


def walkthrough_blocks(readme: Path = ROOT / "README.md") -> list[str]:
    return BLOCK.findall(readme.read_text())


def run_walkthrough(stack: Stack, script: str) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "HOME": os.environ.get("HOME", str(stack.workdir)),
           "API": stack.api, "FLASK": str(Path(sys.executable).parent / "flask")}
    return subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_the_readme_has_the_walkthrough_after_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    headings = re.findall(r"^## (.+)$", readme, re.M)
    assert headings[:2] == ["The two commands", "A walkthrough"]
    blocks = walkthrough_blocks()
    assert len(blocks) >= 8
    body = "\n".join(blocks)
    # A shell's `exit` (not Python's sys.exit) would close the reader's terminal.
    assert not re.search(r"(?<![.\w])exit\b", body), "no `exit` in a block meant to be pasted"
    for step in ("/api/auth/register", "/pay", "/deliver", "/release", "/api/wallet",
                 "/ledger", "/api/wallet/withdrawals", "254700000001", "/dispute",
                 "create-admin", "/resolve"):
        assert step in body, step


def test_the_readme_walkthrough_runs_as_written_and_leaves_what_it_says(stack: Stack) -> None:
    started = time.monotonic()
    result = run_walkthrough(stack, "\n".join(walkthrough_blocks()) + "\n" + REPORT)
    took = time.monotonic() - started
    shown = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    assert result.returncode == 0, f"the README's walkthrough failed ({took:.1f} s)\n{shown}"
    values = dict(line.removeprefix("walkthrough:").split("=", 1)
                  for line in result.stdout.splitlines() if line.startswith("walkthrough:"))
    assert all(values.get(name) for name in SHOWN), shown

    seller, buyer = Api(stack.api, values["SELLER"]), Api(stack.api, values["BUYER"])
    fee_bps = int(stack.env.get("FEE_RATE_BPS", "0"))

    # The first deal: paid, delivered, released to the seller less the fee.
    deal = buyer.data("GET", f"/api/transactions/{values['DEAL']}")
    fee = 1500 * fee_bps // 10_000
    assert deal["status"] == "completed"
    assert deal["deliveredAt"] is not None
    assert deal["settlement"]["kind"] == "released" and deal["settlement"]["fee"] == fee
    payment = buyer.data("GET", f"/api/payments/{values['PAYMENT']}")
    assert payment["status"] == "success" and payment["reference"]
    assert payment["reference"] in result.stdout  # the README prints the receipt
    ledger = seller.data("GET", f"/api/transactions/{values['DEAL']}/ledger")
    assert ledger["sum"] == 0
    assert all(sum(line["amount"] for line in posting["lines"]) == 0
               for posting in ledger["postings"])
    assert ledger["balances"][f"escrow:{values['DEAL']}"] == 0
    assert ledger["balances"]["platform:fees"] == fee

    # The withdrawal: paid, and the seller's wallet holds the rest.
    payout = seller.data("GET", f"/api/wallet/withdrawals/{values['PAYOUT']}")
    assert (payout["status"], payout["amount"]) == ("success", 1000)
    assert seller.data("GET", "/api/wallet")["balance"] == 1500 - fee - 1000

    # The failed payment: cancelled by the phone's owner (1032); the deal stayed payable.
    failed = buyer.data("GET", f"/api/payments/{values['FAILED']}")
    assert (failed["status"], failed["resultCode"]) == ("failed", "1032")
    payments = buyer.data("GET", f"/api/transactions/{values['DEAL2']}/payments")
    statuses = {item["id"]: item["status"] for item in payments}
    assert statuses == {values["FAILED"]: "failed", values["PAYMENT2"]: "success"}

    # The dispute: refunded by the admin to the buyer's wallet, no fee.
    deal2 = buyer.data("GET", f"/api/transactions/{values['DEAL2']}")
    assert deal2["status"] == "cancelled"
    assert deal2["dispute"]["reason"] == "The laptop never arrived"
    assert deal2["dispute"]["outcome"] == "refund"
    assert deal2["dispute"]["note"] == "No proof of delivery"
    assert deal2["settlement"]["kind"] == "dispute_refund"
    assert (deal2["settlement"]["buyerAmount"], deal2["settlement"]["fee"]) == (2000, 0)
    assert buyer.data("GET", "/api/wallet")["balance"] == 2000
    assert seller.data("GET", "/api/wallet")["balance"] == 1500 - fee - 1000
    admin = Api(stack.api, values["ADMIN"])
    assert admin.data("GET", "/api/users/me")["role"] == "admin"
    assert seller.data("GET", f"/api/transactions/{values['DEAL2']}/ledger")["sum"] == 0
    # What it printed, line by line: what the README's comments say it prints.
    printed = [line for line in result.stdout.splitlines() if not line.startswith("walkthrough:")]
    admin_id = admin.data("GET", "/api/users/me")["id"]
    assert printed == [
        f"deal {values['DEAL']} is active", payment["reference"], "active", "completed",
        str(1500 - fee), json.dumps(ledger["balances"]), "0",
        f"payout {values['PAYOUT']}: success", str(500 - fee),
        "1032", "pending", "disputed",
        f"admin admin-{values['RUN']}@example.com created with id {admin_id}",
        "cancelled", "2000",
    ], shown

def test_the_python_socketio_client_of_the_api_doc_prints_the_events_it_is_sent(
        stack: Stack) -> None:
    (client,) = PYTHON_CLIENT.findall((ROOT / "docs" / "API.md").read_text())
    seller, buyer = register(stack, "seller"), register(stack, "buyer")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "API": stack.api,
           "TOKEN": str(seller.token)}
    process = subprocess.Popen([sys.executable, "-c", client], env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    lines: list[str] = []
    output = process.stdout
    assert output is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(output.readline, "")),
                              daemon=True)
    reader.start()
    try:
        wait_until(lambda: "connected\n" in lines or process.poll() is not None, 20,
                   what="the example to connect")
        assert "connected\n" in lines, "".join(lines)
        deal = open_deal(buyer, seller)

        def printed(event: str) -> dict[str, object] | None:
            """The first payload of ``event`` about this deal that the example printed."""
            for line in list(lines):
                name, _, data = line.partition(" ")
                if name == event:
                    payload = json.loads(data)
                    if deal["id"] in (payload.get("id"), payload.get("transactionId")):
                        return dict(payload)
            return None

        created = wait_until(lambda: printed("transaction:created"), 15,
                             what="the example to print transaction:created")
        assert (created["status"], created["amount"]) == ("pending", deal["amount"])
        note = wait_until(lambda: printed("notification"), 15,
                          what="the example to print the seller's notification")
        assert note["kind"] == "deal_created"
    finally:
        process.terminate()
        process.wait(10)
