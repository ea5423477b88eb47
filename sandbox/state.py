"""All state of one sandbox app instance, and the business operations on it."""

from __future__ import annotations

import random
import threading

from sandbox.auth import TokenStore
from sandbox.business_requests import PayoutRequest, ReversalRequest, StatusRequest
from sandbox.callbacks import CallbackDispatcher, CallbackTag
from sandbox.config import SandboxConfig
from sandbox.errors import invalid_field, service_unavailable, transaction_being_processed
from sandbox.ids import ReceiptBook, conversation_id, now_eat, originator_conversation_id
from sandbox.ledger import Ledger, TransactionRecord, customer_name, organisation_name
from sandbox.payloads import JsonObject, query_final, query_pending, stk_callback
from sandbox.payouts import PayoutDesk
from sandbox.requestlog import RequestLog
from sandbox.results import (
    StatusQuery,
    accepted,
    payout_queue_timeout,
    payout_result,
    reversal_result,
    status_result,
)
from sandbox.reversals import ReversalDesk
from sandbox.security import key_pair_for
from sandbox.stk import Push, PushStore
from sandbox.validation import PushRequest

DUPLICATE_CALLBACK_GAP_S = 0.1
_STK_REASONS = {
    "CustomerPayBillOnline": "Customer Pay Bill Online",
    "CustomerBuyGoodsOnline": "Customer Buy Goods Online",
}


class Sandbox:
    """Tokens, keys, pushes, payouts, reversals, deliveries and the request log."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.keys = key_pair_for(config)
        self.tokens = TokenStore(config.token_ttl_s)
        receipts = ReceiptBook()
        self.ledger = Ledger()
        self.pushes = PushStore(config.callback_delay_ms / 1000, receipts=receipts)
        self.payouts = PayoutDesk(config.result_delay_s, receipts, self.ledger)
        self.reversals = ReversalDesk(config.result_delay_s, receipts, self.ledger)
        self.callbacks = CallbackDispatcher()
        self.requests = RequestLog()
        self._random = random.Random(config.seed)
        self._random_lock = threading.Lock()

    def inject_fault(self) -> None:
        """Fail a ``fault_rate`` share of business calls with a 503, before anything is created."""
        if self._draw() < self.config.fault_rate:
            raise service_unavailable()

    def inject_oauth_fault(self) -> None:
        """Fail an ``oauth_fault_rate`` share of token requests with a 503 (no token issued).

        Draws only when the rate is set, so the business-call fault sequence of a seed is the
        same with or without OAuth faults."""
        if self.config.oauth_fault_rate and self._draw() < self.config.oauth_fault_rate:
            raise service_unavailable()

    def _draw(self) -> float:
        with self._random_lock:
            return self._random.random()

    def push(self, request: PushRequest) -> Push:
        """Create the push and schedule its callback deliveries (none, one or several)."""
        push = self.pushes.create(request)
        if push.receipt is not None:
            self.ledger.add(_stk_record(push, push.receipt))
        first_delay_s = self.config.callback_delay_ms / 1000
        body = stk_callback(push, self.config.balance_mode)
        tag = CallbackTag.stk(push.checkout_request_id)
        self.callbacks.schedule(
            tag, request.callback_url, body, _delays(first_delay_s, push.outcome.deliveries)
        )
        return push

    def query(self, checkout_request_id: str) -> JsonObject:
        """The final answer once the customer has answered, else "pending" in the set style."""
        push = self.pushes.find(checkout_request_id)
        if push is None:
            raise invalid_field("CheckoutRequestID")
        if self.pushes.is_answered(push):
            return query_final(push)
        if self.config.query_pending_style == "4999":
            return query_pending(push)
        raise transaction_being_processed(push.checkout_request_id)

    def pay_out(self, request: PayoutRequest) -> JsonObject:
        """Accept a B2C payment; schedule its result(s) or its queue-timeout notification."""
        payout = self.payouts.accept(request)
        originator_id = payout.record.originator_conversation_id
        delay_s = self.config.result_delay_s
        if payout.outcome.queue_timeout:
            timeout_tag = CallbackTag("b2c_timeout", originator_conversation_id=originator_id)
            timeout_body = payout_queue_timeout(payout)
            self.callbacks.schedule(timeout_tag, request.queue_timeout_url, timeout_body, [delay_s])
        result_tag = CallbackTag("b2c_result", originator_conversation_id=originator_id)
        self.callbacks.schedule(
            result_tag,
            request.result_url,
            payout_result(payout),
            _delays(delay_s, payout.outcome.results_sent),
        )
        return accepted(originator_id, payout.record.conversation_id)

    def transaction_status(self, request: StatusRequest) -> JsonObject:
        """Accept a status query; its result tells the final truth even before a B2C's result."""
        queried_on = now_eat()
        query = StatusQuery(
            originator_conversation_id=originator_conversation_id(),
            conversation_id=conversation_id(queried_on),
            queried_on=queried_on,
            initiator_valid=request.initiator_valid,
            found=self.ledger.find(request.transaction_id, request.original_conversation_id),
            occasion=request.occasion,
        )
        originator_id = query.originator_conversation_id
        tag = CallbackTag("status_result", originator_conversation_id=originator_id)
        delays_s = [self.config.result_delay_s]
        self.callbacks.schedule(tag, request.result_url, status_result(query), delays_s)
        return accepted(originator_id, query.conversation_id)

    def reverse(self, request: ReversalRequest) -> JsonObject:
        reversal = self.reversals.accept(request)
        originator_id = reversal.record.originator_conversation_id
        tag = CallbackTag("reversal_result", originator_conversation_id=originator_id)
        delays_s = [self.config.result_delay_s]
        self.callbacks.schedule(tag, request.result_url, reversal_result(reversal), delays_s)
        return accepted(originator_id, reversal.record.conversation_id)

    def reset(self) -> None:
        """Clear every transaction, pending and recorded callbacks and the request log.

        Tokens and the key pair survive; so does the memory of issued receipts, which stay unique.
        """
        self.pushes.reset()
        self.payouts.reset()
        self.reversals.reset()
        self.ledger.reset()
        self.callbacks.reset()
        self.requests.clear()


def _delays(first_delay_s: float, count: int) -> list[float]:
    """``count`` deliveries, the first after ``first_delay_s``, then 100 ms apart."""
    return [first_delay_s + index * DUPLICATE_CALLBACK_GAP_S for index in range(count)]


def _stk_record(push: Push, receipt: str) -> TransactionRecord:
    """A paid push as Transaction Status sees it (MerchantRequestID, CheckoutRequestID as ids)."""
    request = push.request
    return TransactionRecord(
        kind="stk",
        transaction_id=receipt,
        originator_conversation_id=push.merchant_request_id,
        conversation_id=push.checkout_request_id,
        result_code=push.outcome.result_code,
        result_desc=push.outcome.result_desc,
        amount=request.amount,
        debit_party=customer_name(request.phone),
        credit_party=organisation_name(request.shortcode),
        initiated_on=push.pushed_on,
        finalised_on=push.answered_on,
        reason_type=_STK_REASONS[request.transaction_type],
        debit_account_type="Customer Account",
        debit_party_charges="",
    )
