"""What must hold after every step of a simulation, and what must hold once it is drained.

The books are judged against the simulated M-Pesa's truth, never against themselves: money
moves only on what M-Pesa did.
"""

from __future__ import annotations

from collections import Counter

from domain import ledger
from domain.deals import DealStatus
from domain.payments import PaymentStatus
from domain.payouts import PayoutStatus
from domain.services.payments import UNRESOLVED
from domain.services.wallet import is_reserved
from tests.unit.simulation.world import SimWorld

CONFIRMED_CODES = {"1032", "1037", "1"}  # the failure codes the simulated M-Pesa gives


def check_always(w: SimWorld) -> list[str]:
    """What must hold between any two steps, crash windows included."""
    return _always(w)


def check_end(w: SimWorld) -> list[str]:
    """What must hold once every fault stopped and every schedule ran out."""
    return _always(w) + _settled(w)


def _always(w: SimWorld) -> list[str]:
    problems: list[str] = []
    book = w.ledger
    now = w.clock.now()
    if book.total() != 0:
        problems.append(f"the ledger sums to {book.total()}, not zero")
    balances = ledger.balances(book.postings.values())
    for account, amount in balances.items():
        held = account.startswith(("wallet:", "escrow:")) or account in (
            ledger.PAYOUTS_IN_FLIGHT, ledger.FEES)
        if held and amount < 0:
            problems.append(f"{account} is below zero: {amount}")
    problems += list(w.mpesa.repeated_sends)
    problems += w.task_errors

    for payment in w.payments.rows.values():
        pushes = w.mpesa.push_of(payment.id)
        if len(pushes) > 1:
            problems.append(f"payment {payment.id} was pushed {len(pushes)} times")
        push = pushes[0] if pushes else None
        fund = book.get(f"payment:{payment.id}:fund")
        if (payment.status is PaymentStatus.SUCCESS or fund is not None) and (
                push is None or not push.paid_by(now)):
            problems.append(
                f"payment {payment.id} is {payment.status.value} (fund posted: "
                f"{fund is not None}) but M-Pesa says its push is "
                f"{'absent' if push is None else push.story + ' ' + str(push.code)}"
                + ("" if push is None or push.final_at(now) else " and not final yet"))
        named = w.mpesa.pushes.get(payment.checkout_request_id or "")
        if payment.checkout_request_id is not None and (named is None
                                                        or named.payment_id != payment.id):
            problems.append(f"payment {payment.id} adopted push {payment.checkout_request_id} "
                            f"of payment {None if named is None else named.payment_id} (its "
                            f"own: {None if push is None else push.checkout_id})")
        # The one documented limit of verification (docs/reconciliation.md): STK Query carries no
        # receipt, so a forged success for a push that really was paid is credited (the money
        # is right) with the forger's receipt; the genuine callback is then flagged mismatch.
        forged_on_paid = (payment.receipt is not None and payment.receipt.startswith("FRG")
                          and push is not None and push.paid_by(now))
        if payment.receipt is not None and not forged_on_paid and (
                push is None or payment.receipt != push.receipt):
            problems.append(f"payment {payment.id} records receipt {payment.receipt}; M-Pesa's "
                            f"is {None if push is None else push.receipt}")
        if payment.status is PaymentStatus.FAILED and payment.result_code != UNRESOLVED \
                and push is not None and push.paid_by(now):
            problems.append(f"payment {payment.id} failed ({payment.result_code}) but its push "
                            "was paid")
        if payment.status is PaymentStatus.FAILED and payment.result_code in CONFIRMED_CODES \
                and (push is None or not push.final_at(now) or push.code != payment.result_code):
            problems.append(f"payment {payment.id} failed with {payment.result_code}, which "
                            f"M-Pesa did not say ({None if push is None else push.code})")

    for deal in w.deals.rows.values():
        held = balances.get(ledger.escrow(deal.id), 0)
        kinds = Counter(p.kind for p in book.postings_for_deal(deal.id))
        # A late success is posted to escrow before it is returned to the buyer: a crash in
        # between leaves two fundings for a while, repaired by the redelivery. Two fundings
        # by payments that are neither late nor still marked failed are never right.
        credited = [w.payments.get(p.memo.removeprefix("payment "))
                    for p in book.postings_for_deal(deal.id)
                    if p.kind == "escrow_hold" and p.memo]
        on_time = [p for p in credited if p is not None and p.status is PaymentStatus.SUCCESS
                   and not p.late]
        if len(on_time) - kinds["late_payment_return"] > 1:
            problems.append(f"deal {deal.id} escrow holds {len(on_time)} fundings of on-time "
                            f"payments ({', '.join(p.id for p in on_time)}), "
                            f"{kinds['late_payment_return']} returned")
        if held > deal.amount * max(1, kinds["escrow_hold"] - kinds["late_payment_return"]):
            problems.append(f"deal {deal.id} escrow holds {held}, more than its fundings")
        if deal.funded_by is not None:
            payment = w.payments.get(deal.funded_by)
            if payment is None or payment.status is not PaymentStatus.SUCCESS \
                    or payment.deal_id != deal.id:
                problems.append(f"deal {deal.id} is funded by {deal.funded_by}, which is "
                                f"{None if payment is None else payment.status.value}")
        if book.get(f"deal:{deal.id}:settle") is not None and deal.settlement is None:
            problems.append(f"deal {deal.id} has a settlement posting but no settlement")

    in_flight = 0
    for payout in w.payouts.rows.values():
        reserved = is_reserved(w.ctx, payout)
        outcome = book.get(ledger.payout_outcome_key(payout.id))
        transfer = w.mpesa.transfers.get(payout.originator_conversation_id)
        truly_paid = transfer is not None and transfer.paid
        if outcome is not None and outcome.kind == "payout_settle" and not (
                truly_paid and transfer is not None and transfer.completed_by(now)):
            problems.append(f"payout {payout.id} settled as paid; M-Pesa: "
                            f"{'never created' if transfer is None else transfer.desc}")
        if outcome is not None and outcome.kind == "payout_return" and truly_paid:
            problems.append(f"payout {payout.id} returned to the wallet, but M-Pesa paid it")
        if outcome is not None and not reserved:
            problems.append(f"payout {payout.id} has an outcome but was never reserved")
        if payout.status is PayoutStatus.SUCCESS and (outcome is None
                                                      or outcome.kind != "payout_settle"):
            problems.append(f"payout {payout.id} is success without its settle posting")
        if payout.status is PayoutStatus.FAILED and (truly_paid or (
                reserved and (outcome is None or outcome.kind != "payout_return"))):
            problems.append(f"payout {payout.id} failed, but paid={truly_paid}, posting "
                            f"{None if outcome is None else outcome.kind}")
        if reserved and outcome is None:
            in_flight += payout.amount
    for posting in book.postings.values():
        if posting.kind == "payout_reserve":
            payout_id = (posting.memo or "").removeprefix("payout ")
            found = w.payouts.get(payout_id)
            if found is None or found.debit_key != posting.key:
                problems.append(f"{posting.key} reserved {posting.lines[1].amount} for payout "
                                f"{payout_id}, which does not hold it")
    if balances.get(ledger.PAYOUTS_IN_FLIGHT, 0) != in_flight:
        problems.append(f"payouts:in_flight is {balances.get(ledger.PAYOUTS_IN_FLIGHT, 0)}; "
                        f"the payouts in flight add up to {in_flight}")
    return problems


def _settled(w: SimWorld) -> list[str]:
    problems: list[str] = []
    book, now = w.ledger, w.clock.now()
    for payment in w.payments.rows.values():
        if payment.is_open:
            problems.append(f"payment {payment.id} is still {payment.status.value}" + (
                f" with no check scheduled (checks: {payment.checks})"
                if payment.next_check_at is None else ""))
        if payment.result_code == UNRESOLVED and not w.alerted(payment=payment.id):
            problems.append(f"payment {payment.id} was closed UNRESOLVED without an alert")
    for push in w.mpesa.pushes.values():
        payment = w.payments.get(push.payment_id)
        if not push.paid_by(now) or payment is None:
            continue
        if payment.status is PaymentStatus.SUCCESS:
            continue
        if payment.result_code == UNRESOLVED:
            continue  # closed by the schedule, alerted (below): a person matches it by hand
        problems.append(f"push {push.checkout_id} of payment {payment.id} was paid; the "
                        f"payment is {payment.status.value} {payment.result_code}")
    for payment in w.payments.rows.values():
        if payment.status is not PaymentStatus.SUCCESS:
            continue
        deal = w.deals.get(payment.deal_id)
        if (deal is None or deal.funded_by != payment.id) \
                and book.get(f"payment:{payment.id}:return") is None:
            problems.append(f"payment {payment.id} succeeded, but deal {payment.deal_id} "
                            f"({None if deal is None else deal.status.value}) is not funded "
                            "by it and the money was not returned to the buyer")
    hopeless = w.hopeless()
    for payout in w.payouts.rows.values():
        transfer = w.mpesa.transfers.get(payout.originator_conversation_id)
        if payout.status is PayoutStatus.QUEUED:
            problems.append(f"payout {payout.id} is still queued")
        elif payout.status is PayoutStatus.PENDING and (
                payout.id not in hopeless or not w.alerted(payout=payout.id)):
            problems.append(f"payout {payout.id} is still pending without an alert "
                            f"after {payout.status_checks} status queries (M-Pesa: "
                            f"{'nothing' if transfer is None else transfer.desc})")
        if transfer is None:
            continue
        want = PayoutStatus.SUCCESS if transfer.paid else PayoutStatus.FAILED
        if payout.status is not want:
            problems.append(f"payout {payout.id} is {payout.status.value}; M-Pesa "
                            f"{'paid' if transfer.paid else 'did not pay'} it")
    for item in w.inbox.items.values():
        if item.status == "received":
            problems.append(f"callback {item.id} was never processed")
    balances = ledger.balances(book.postings.values())
    for deal in w.deals.rows.values():
        held = balances.get(ledger.escrow(deal.id), 0)
        kinds = Counter(p.kind for p in book.postings_for_deal(deal.id))
        if kinds["escrow_hold"] - kinds["late_payment_return"] > 1:
            problems.append(f"deal {deal.id} was funded {kinds['escrow_hold']} times, "
                            f"{kinds['late_payment_return']} returned")
        want = deal.amount if deal.status in (DealStatus.ACTIVE, DealStatus.DISPUTED) else 0
        if held != want:
            problems.append(f"deal {deal.id} is {deal.status.value} and its escrow holds "
                            f"{held}, not {want}")
        if deal.settlement is not None and deal.funded_by is not None \
                and book.get(f"deal:{deal.id}:settle") is None:
            problems.append(f"deal {deal.id} is settled but its posting was never written")
    return problems
