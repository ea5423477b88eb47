"""All state of one sandbox app instance, and the business operations on it."""

from __future__ import annotations

import random
import threading

from sandbox.auth import TokenStore
from sandbox.callbacks import CallbackDispatcher
from sandbox.config import SandboxConfig
from sandbox.errors import invalid_field, service_unavailable, transaction_being_processed
from sandbox.payloads import JsonObject, query_final, query_pending, stk_callback
from sandbox.requestlog import RequestLog
from sandbox.stk import Push, PushStore
from sandbox.validation import PushRequest

DUPLICATE_CALLBACK_GAP_S = 0.1


class Sandbox:
    """Tokens, pushes, callback deliveries and the request log, each guarded by its own lock."""

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.tokens = TokenStore(config.token_ttl_s)
        self.pushes = PushStore(config.callback_delay_ms / 1000)
        self.callbacks = CallbackDispatcher()
        self.requests = RequestLog()
        self._random = random.Random(config.seed)
        self._random_lock = threading.Lock()

    def inject_fault(self) -> None:
        """Fail a ``fault_rate`` share of business calls with a 503, before anything is created."""
        with self._random_lock:
            draw = self._random.random()
        if draw < self.config.fault_rate:
            raise service_unavailable()

    def push(self, request: PushRequest) -> Push:
        """Create the push and schedule its callback deliveries (none, one or several)."""
        push = self.pushes.create(request)
        first_delay_s = self.config.callback_delay_ms / 1000
        delays_s = [
            first_delay_s + index * DUPLICATE_CALLBACK_GAP_S
            for index in range(push.outcome.deliveries)
        ]
        body = stk_callback(push, self.config.balance_mode)
        self.callbacks.schedule(push.checkout_request_id, request.callback_url, body, delays_s)
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

    def reset(self) -> None:
        """Clear pushes, pending and recorded callbacks and the request log; tokens survive."""
        self.pushes.reset()
        self.callbacks.reset()
        self.requests.clear()
