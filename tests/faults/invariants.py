"""What must hold after any fault, checked over every deal, payment, posting and callback in the
database against what M-Pesa (the sandbox) really did:

- every payment ends in the state its truth says: a push the sandbox accepted ends as the phone
  decides (success → the deal's escrow funded once; a failing phone → failed with its code), a
  push it never accepted ends failed with nothing credited; no payment is pushed twice;
- nothing is credited twice: one funding posting per payment, at most one per deal in escrow,
  and each deal's escrow holds its amount exactly while the deal is funded, nothing otherwise;
- the ledger sums to zero, posting by posting and as a whole;
- no callback is lost: every delivery we answered 200 is stored, and every stored callback is
  processed (or flagged for a reason the scenario expects);
- nothing stays pending past the reconciliation schedule, once beat's janitor rounds have run
  with a later ``now`` (``settle``).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.helpers import database, run_task, wait_until
from tests.stack import Stack

PUSH = "/mpesa/stkpush/v1/processrequest"
FAILING_PHONES = {"254700000001": "1032", "254700000002": "1", "254700000003": "1037",
                  "254700000004": "2001"}  # the sandbox's (sandbox/README.md); others succeed
JANITOR = ("payments.reconcile", "callbacks.requeue_stale", "payouts.reconcile")
ROUND_STEP = timedelta(seconds=61)  # each round a little more than a requeue interval later
PROBE_PREFIX = "ws_CO_probe"  # callbacks the chaos probes made up: flagged as nobody's push


def settle(stack: Stack, timeout: float = 90.0, beats: int = 1,
           each_round: Callable[[], object] = lambda: None) -> int:
    """Run beat's janitor rounds, each ``ROUND_STEP`` later than the last (``beats`` copies of
    each task at once, as that many beats would send them), until no payment is open or
    unfinished and no stored callback waits; ``each_round`` runs before each. Returns the
    number of rounds."""
    db = database(stack)
    as_of = datetime.now(UTC)
    rounds = 0

    def still_open() -> dict[str, int]:
        return {
            "queued": db.payments.count_documents({"status": "queued"}),
            "pending": db.payments.count_documents({"status": "pending"}),
            "unfinished": db.payments.count_documents({"finished": {"$ne": True}}),
            "callbacks received": db.mpesa_callbacks.count_documents({"status": "received"}),
        }

    def quiet() -> bool:
        nonlocal as_of, rounds
        each_round()
        as_of = max(datetime.now(UTC), as_of) + ROUND_STEP
        for task in JANITOR:
            for _ in range(beats):
                run_task(stack, task, now=as_of.isoformat())
        rounds += 1
        return not any(still_open().values())

    try:
        wait_until(quiet, timeout=timeout, every=1.0, what="the janitor to settle every payment")
    except AssertionError as late:
        raise AssertionError(f"{late}; still open after {rounds} rounds: {still_open()}"
                             ) from None
    return rounds


def check(stack: Stack, since: datetime, allowed_flags: frozenset[str] = frozenset(),
          ) -> dict[str, Any]:
    """Every invariant above, over everything in the database; raises AssertionError listing
    each violation. Returns the outcomes of what happened ``since`` (the scenario's start),
    for its figures."""
    db = database(stack)
    pushes = _sandbox(stack, "requests", path=PUSH)
    deliveries = [d for d in _sandbox(stack, "callbacks") if d["kind"] == "stk"]
    by_reference: dict[str, list[dict[str, Any]]] = {}
    for push in pushes:
        by_reference.setdefault(str((push["body"] or {}).get("AccountReference")), []).append(push)
    postings = {doc["_id"]: doc for doc in db.postings.find()}
    wrong: list[str] = []
    outcomes: Counter[str] = Counter()

    for payment in db.payments.find():
        outcome = _payment(payment, by_reference.get(payment.get("accountReference", ""), []),
                           postings, wrong)
        if payment["createdAt"] >= since:
            outcomes[outcome] += 1
    for deal in db.deals.find():
        _deal(deal, postings, wrong)
    _ledger(postings, wrong)
    stored = _callbacks(db, deliveries, allowed_flags, wrong, since)
    assert not wrong, f"{len(wrong)} invariants broken:\n" + "\n".join(wrong[:30])
    recent = [d for d in deliveries if datetime.fromisoformat(d["at"]) >= since]
    return {"payments": dict(sorted(outcomes.items())),
            "pushes": sum(1 for p in pushes if datetime.fromisoformat(p["at"]) >= since),
            "callback deliveries": dict(sorted(Counter(
                str(d["status"] or "error") for d in recent).items())),
            "stored callbacks": dict(sorted(stored.items()))}


def _sandbox(stack: Stack, what: str, **params: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{stack.sandbox}/sandbox/{what}", params=params, timeout=30)
    answer.raise_for_status()
    return list(answer.json()["items"])


def _payment(payment: dict[str, Any], pushes: list[dict[str, Any]],
             postings: dict[str, dict[str, Any]], wrong: list[str]) -> str:
    """Check one payment against the pushes the sandbox received for it; its outcome."""
    pid, status = payment["_id"], payment["status"]
    accepted = [p for p in pushes if p["status"] == 200]
    if len(accepted) > 1:
        wrong.append(f"payment {pid} was pushed {len(accepted)} times")
    unknown = [i for i, p in enumerate(pushes) if p["status"] == 503]
    if unknown and unknown[0] != len(pushes) - 1:
        wrong.append(f"payment {pid} was pushed again after an unknown-outcome 503")
    funded = postings.get(f"payment:{pid}:fund")
    if status not in ("success", "failed"):
        wrong.append(f"payment {pid} still {status} after the schedule")
    if not accepted:  # M-Pesa never created a prompt: no money can have moved
        if status != "failed" or funded:
            wrong.append(f"payment {pid} was never accepted by M-Pesa but is {status}"
                         f"{' and credited' if funded else ''}")
        return f"failed {payment.get('resultCode')}"
    code = FAILING_PHONES.get(payment["phone"], "0")
    if code != "0":
        if status != "failed" or payment.get("resultCode") != code or funded:
            wrong.append(f"payment {pid}: M-Pesa said {code}, we say {status} "
                         f"{payment.get('resultCode')}{' (credited)' if funded else ''}")
        return f"failed {code}"
    if status != "success":
        wrong.append(f"payment {pid}: M-Pesa took the money, we say {status} "
                     f"{payment.get('resultCode')}")
    elif funded is None or _line(funded, f"escrow:{payment['dealId']}") != payment["amount"]:
        wrong.append(f"payment {pid} succeeded but its escrow posting is {funded}")
    return "success" + (" late" if payment.get("late") else "")


def _deal(deal: dict[str, Any], postings: dict[str, dict[str, Any]], wrong: list[str]) -> None:
    account = f"escrow:{deal['_id']}"
    held = sum(_line(p, account) for p in postings.values() if account in p["accounts"])
    funds = [p for p in postings.values()
             if p["kind"] == "escrow_hold" and p.get("dealId") == deal["_id"]]
    returns = [p for p in postings.values()
               if p["kind"] == "late_payment_return" and p.get("dealId") == deal["_id"]]
    if len(funds) - len(returns) > 1:
        wrong.append(f"deal {deal['_id']} was funded {len(funds)} times "
                     f"({len(returns)} returned)")
    expected = deal["amount"] if deal["status"] in ("active", "disputed") else 0
    if held != expected:
        wrong.append(f"deal {deal['_id']} is {deal['status']} but its escrow holds {held}")
    if deal["status"] == "active" and not (
            deal.get("fundedBy") and f"payment:{deal['fundedBy']}:fund" in postings):
        wrong.append(f"deal {deal['_id']} is active without its payment's posting")


def _ledger(postings: dict[str, dict[str, Any]], wrong: list[str]) -> None:
    total = 0
    for key, posting in postings.items():
        lines = sum(line["amount"] for line in posting["lines"])
        if lines != 0:
            wrong.append(f"posting {key} sums to {lines}")
        total += lines
    if total != 0:
        wrong.append(f"the ledger sums to {total}")


def _callbacks(db: Any, deliveries: list[dict[str, Any]], allowed_flags: frozenset[str],
               wrong: list[str], since: datetime) -> Counter[str]:
    stored: dict[str, dict[str, Any]] = {}
    for doc in db.mpesa_callbacks.find({"kind": "stk"}):
        checkout = str(json.loads(doc["raw"])["Body"]["stkCallback"].get("CheckoutRequestID"))
        stored[checkout] = doc
    for delivery in deliveries:
        if delivery["status"] == 200 and delivery["checkoutRequestId"] not in stored:
            wrong.append(f"the callback for {delivery['checkoutRequestId']} was acknowledged "
                         "but never stored")
    seen: Counter[str] = Counter()
    for checkout, doc in stored.items():
        outcome = (doc.get("processed") or {}).get("outcome")
        if doc["receivedAt"] >= since:
            seen[f"{doc['status']} {outcome}"] += 1
        if doc["status"] == "received":
            wrong.append(f"the stored callback for {checkout} was never processed")
        elif doc["status"] == "flagged" and not checkout.startswith(PROBE_PREFIX) \
                and outcome not in allowed_flags:
            wrong.append(f"the genuine callback for {checkout} was flagged {outcome}")
    return seen


def _line(posting: dict[str, Any], account: str) -> int:
    return sum(line["amount"] for line in posting["lines"] if line["account"] == account)
