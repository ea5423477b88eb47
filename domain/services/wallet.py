"""Wallets: what is in them, and a withdrawal's first step: the money leaves the wallet at once
(so it cannot be spent twice) and the B2C is queued. The payout's life is in ``payouts``."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from domain import ledger
from domain.errors import Conflict, NotFound
from domain.ledger import PostingConflict
from domain.money import CURRENCY
from domain.payouts import Payout, check_payout_amount
from domain.services.announce import kes, wallet_moved
from domain.services.context import Context
from domain.services.idempotency import replay
from domain.users import User

RESERVE_TRIES = 5
# A queued payout whose money is not reserved yet may belong to a request still running: it
# is given up (failed, nothing to return) only after this long.
RESERVE_GRACE = timedelta(minutes=10)
ENTRIES = 100


def wallet_view(ctx: Context, user: User) -> dict[str, Any]:
    account = ledger.wallet(user.id)
    entries = [
        {"key": p.key, "kind": p.kind, "amount": p.amount_for(account), "memo": p.memo,
         "dealId": p.deal_id, "createdAt": p.created_at}
        for p in ctx.ledger.postings_for_account(account, ENTRIES)
    ]
    return {"balance": ctx.ledger.balance(account), "currency": CURRENCY, "entries": entries}


def request_withdrawal(ctx: Context, user: User, amount: int, phone: str, idempotency_key: str,
                       request_hash: str) -> Payout:
    """Move the amount out of the wallet now (so it cannot be spent twice), then queue the B2C."""
    earlier = ctx.payouts.by_idempotency_key(user.id, idempotency_key)
    if earlier is not None:
        return replay(earlier, request_hash)
    check_payout_amount(amount)
    account = ledger.wallet(user.id)
    if ctx.ledger.balance(account) < amount:
        raise _too_low(amount)  # the common refusal writes nothing at all
    now = ctx.clock.now()
    payout = Payout(ctx.ids.new_id(), user.id, amount, phone, idempotency_key, request_hash,
                    debit_key="", created_at=now, updated_at=now,
                    originator_conversation_id=f"escrow-{ctx.ids.new_reference()}")
    stored = ctx.payouts.add(payout)
    if stored.id != payout.id:
        return replay(stored, request_hash)
    for _ in range(RESERVE_TRIES):
        # The slot first, the balance after: any debit that lands after this count takes this
        # slot or a later one, so ours then collides with it instead of overdrawing.
        slot = ctx.ledger.count(account, "payout_reserve") + 1
        if ctx.ledger.balance(account) < amount:
            break
        posting = ledger.reserve_payout(user.id, slot, payout.id, amount, now)
        keyed = dataclasses.replace(payout, debit_key=posting.key, version=payout.version + 1)
        ctx.payouts.save(keyed, expected_version=payout.version)  # the key is known before…
        payout = keyed
        try:
            ctx.ledger.post(posting)  # …the money moves, so a crash here is recoverable
        except PostingConflict:
            continue  # a concurrent withdrawal took this debit slot: look again
        _return_if_given_up(ctx, payout, now)
        ctx.tasks.request_b2c(payout.id)
        wallet_moved(ctx, user.id)
        return payout
    ctx.payouts.remove_unreserved(payout)
    raise _too_low(amount)


def _return_if_given_up(ctx: Context, payout: Payout, now: datetime) -> None:
    """This request stalled so long that the worker gave the payout up as never reserved:
    the money it just reserved goes straight back (the one outcome key makes it once)."""
    current = ctx.payouts.get(payout.id)
    if current is None or not current.is_final:
        return
    ctx.ledger.post(ledger.return_payout(payout.id, payout.user_id, payout.amount, now))
    ctx.notifier.alert("a withdrawal was reserved after it had been given up; returned",
                       payout=payout.id)


def _too_low(amount: int) -> Conflict:
    return Conflict("the wallet balance is too low for this withdrawal",
                    {"amount": [f"{kes(amount)} is more than the balance"]})


def withdrawals_of(ctx: Context, user: User, limit: int = 100) -> list[Payout]:
    """The user's own withdrawals, newest first."""
    return list(ctx.payouts.for_user(user.id, limit))


def visible_payout(ctx: Context, user: User, payout_id: str) -> Payout:
    payout = ctx.payouts.get(payout_id)
    if payout is None or not (user.is_admin or payout.user_id == user.id):
        raise NotFound("withdrawal not found")
    return payout


def is_reserved(ctx: Context, payout: Payout) -> bool:
    """The payout's money really left the wallet (its debit posting exists and names it)."""
    posting = ctx.ledger.get(payout.debit_key) if payout.debit_key else None
    return posting is not None and posting.memo == f"payout {payout.id}"
