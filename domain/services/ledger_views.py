"""Reading the ledger as a party to a deal."""

from __future__ import annotations

from typing import Any

from domain.ledger import balances
from domain.services.context import Context
from domain.services.deals import visible_deal
from domain.users import User


def deal_ledger(ctx: Context, user: User, deal_id: str) -> dict[str, Any]:
    deal = visible_deal(ctx, user, deal_id)
    postings = list(ctx.ledger.postings_for_deal(deal.id))
    totals = balances(postings)
    return {"postings": postings, "balances": totals, "sum": sum(totals.values())}
