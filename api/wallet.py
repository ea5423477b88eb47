"""``/api/wallet``: balance, entries and withdrawals to M-Pesa."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import jwt_required
from flask_smorest import Blueprint

from adapters.presenters import PayoutSchema
from api.deps import (
    ctx,
    current_user,
    idempotency_key,
    login_attempts,
    proof,
    request_fingerprint,
    without_password,
)
from api.envelope import envelope, ok
from api.openapi import IDEMPOTENCY_KEY
from api.schemas import WalletOut, WithdrawalIn
from domain.services import accounts, wallet

blp = Blueprint("wallet", __name__, url_prefix="/api/wallet", description="Wallet and payouts")


@blp.route("")
class Wallet(MethodView):
    @jwt_required()
    @blp.response(200, envelope(WalletOut))
    def get(self) -> dict[str, Any]:
        """Your balance and its latest entries (each a line of a ledger posting)."""
        return ok(wallet.wallet_view(ctx(), current_user()))


@blp.route("/withdrawals")
class Withdrawals(MethodView):
    @jwt_required()
    @blp.response(200, envelope(PayoutSchema, many=True))
    def get(self) -> dict[str, Any]:
        """Your withdrawals, newest first."""
        return ok(wallet.withdrawals_of(ctx(), current_user()))

    @jwt_required()
    @blp.arguments(WithdrawalIn)
    @blp.response(202, envelope(PayoutSchema))
    @blp.doc(parameters=[IDEMPOTENCY_KEY])
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Withdraw to M-Pesa: the amount leaves the wallet at once; a worker sends the B2C.
        To a phone other than the profile's: a fresh sign-in or ``password`` is needed."""
        user, key = current_user(), idempotency_key()
        accounts.prove_for_payout(ctx(), user, body["phone"], key, proof(body), login_attempts())
        payout = wallet.request_withdrawal(ctx(), user, body["amount"], body["phone"],
                                           key, request_fingerprint(without_password(body)))
        return ok(payout, "withdrawal queued")


@blp.route("/withdrawals/<payout_id>")
class OneWithdrawal(MethodView):
    @jwt_required()
    @blp.response(200, envelope(PayoutSchema))
    def get(self, payout_id: str) -> dict[str, Any]:
        """A withdrawal and its status (queued, pending, success, failed)."""
        return ok(wallet.visible_payout(ctx(), current_user(), payout_id))
