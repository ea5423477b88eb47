"""The simulated M-Pesa: the ground truth the simulation judges the books against.

Every push it accepted has one true outcome (decided when it is created), every B2C payout
too. STK Query and Transaction Status answer truthfully as of the moment they are asked
(pending until the customer answers; a transaction not found or in flight until it completes).
Synchronous faults are drawn at random: ``GatewayUnavailable`` (nothing was created),
``GatewayOutcomeUnknown`` (created or not: the truth decides) and ``GatewayRejected``.
Callbacks M-Pesa sends are queued in ``outbox`` with the instant they arrive: once, twice,
late, or never. ``forged_*`` build the bodies an attacker posts to our callback URLs.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.payments import Payment
from domain.payouts import Payout
from domain.ports import (
    GatewayOutcomeUnknown,
    GatewayRejected,
    GatewayUnavailable,
    PhoneBusy,
    StkAccepted,
    StkStatus,
)
from tests.unit.fakes import FakeClock

PROMPT_LIFETIME = timedelta(minutes=3)
NOT_FOUND = 2032


@dataclass
class Push:
    """One STK push M-Pesa created, and how it truly ends."""

    checkout_id: str
    merchant_id: str
    payment_id: str
    phone: str
    amount: int
    created_at: datetime
    story: str  # how the customer and M-Pesa behave: see SimMpesa._story
    code: str | None  # the final ResultCode; None: STK Query says pending for ever
    desc: str
    answered_at: datetime | None  # when the customer answered (the callback is sent then)
    visible_at: datetime | None  # from when STK Query gives the final answer
    receipt: str | None
    told_us: bool  # Daraja's answer (the CheckoutRequestID) reached us

    @property
    def succeeded(self) -> bool:
        return self.code == "0"

    def final_at(self, now: datetime) -> bool:
        return self.visible_at is not None and now >= self.visible_at

    def paid_by(self, now: datetime) -> bool:
        return self.succeeded and self.final_at(now)


@dataclass
class Transfer:
    """One B2C payment M-Pesa created, and how it truly ends."""

    ocid: str
    conversation_id: str
    payout_id: str
    amount: int
    phone: str
    created_at: datetime
    paid: bool
    code: int
    desc: str
    completes_at: datetime
    receipt: str | None

    def completed_by(self, now: datetime) -> bool:
        return now >= self.completes_at


@dataclass
class Delivery:
    """A callback on its way to our callback URL."""

    at: datetime
    kind: str  # the inbox kind: stk, b2c_result, b2c_timeout, status_result, status_timeout
    raw: str
    note: str
    forged: bool = False
    seq: int = 0
    subject: str = ""  # the payment or payout it is about


@dataclass
class Rates:
    """Fault rates; all zero in the drain phase."""

    unavailable: float = 0.04
    outcome_unknown: float = 0.06
    rejected: float = 0.03
    query_unavailable: float = 0.05
    query_unknown: float = 0.03
    status_busy: float = 0.04  # Transaction Status answers a non-zero ResultCode (busy)
    callback_lost: float = 0.10
    callback_twice: float = 0.20
    callback_late: float = 0.15

    @classmethod
    def none(cls) -> Rates:
        return cls(0, 0, 0, 0, 0, 0, 0, 0, 0)


@dataclass
class SimMpesa:
    rng: random.Random
    clock: FakeClock
    rates: Rates = field(default_factory=Rates)
    pushes: dict[str, Push] = field(default_factory=dict)  # CheckoutRequestID -> push
    transfers: dict[str, Transfer] = field(default_factory=dict)  # OriginatorConversationID
    queries: dict[str, str] = field(default_factory=dict)  # status query id -> payout ocid
    outbox: list[Delivery] = field(default_factory=list)
    push_may_exist: set[str] = field(default_factory=set)  # payment ids M-Pesa may have
    pay_may_exist: set[str] = field(default_factory=set)  # ocids M-Pesa may have
    repeated_sends: list[str] = field(default_factory=list)  # requests that must never be
    stories: list[str] = field(default_factory=list)  # a scenario's forced push stories
    log: list[str] = field(default_factory=list)
    counter: int = 0

    def _id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:05d}{self.rng.getrandbits(40):010x}"

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def note(self, line: str) -> None:
        self.log.append(line)

    # ---------------------------------------------------------------- STK push and query

    def push(self, payment: Payment, account_reference: str) -> StkAccepted:
        r = self.rng.random()
        if payment.id in self.push_may_exist:
            self.repeated_sends.append(f"STK push for payment {payment.id} sent again")
        if self._phone_locked(payment.phone):
            self.note(f"mpesa: push {payment.id} refused: phone busy")
            raise PhoneBusy("Unable to lock subscriber, a transaction is already in process")
        if r < self.rates.unavailable:
            self.note(f"mpesa: push {payment.id}: 503 before anything was created")
            raise GatewayUnavailable("503 Service Unavailable")
        r -= self.rates.unavailable
        if r < self.rates.rejected:
            self.note(f"mpesa: push {payment.id}: rejected")
            raise GatewayRejected("400.002.02", "Bad Request - Invalid PhoneNumber")
        r -= self.rates.rejected
        self.push_may_exist.add(payment.id)
        if r < self.rates.outcome_unknown:
            created = self.rng.random() < 0.5
            if created:
                self._create_push(payment, told_us=False)
            self.note(f"mpesa: push {payment.id}: no answer (created={created})")
            raise GatewayOutcomeUnknown("read timed out")
        created_push = self._create_push(payment, told_us=True)
        return StkAccepted(created_push.merchant_id, created_push.checkout_id)

    def _phone_locked(self, phone: str) -> bool:
        now = self.now
        for push in self.pushes.values():
            if push.phone != phone:
                continue
            closes = push.created_at + PROMPT_LIFETIME
            if push.answered_at is not None:
                closes = min(closes, push.answered_at)
            if push.created_at <= now < closes:
                return True
        return False

    def _story(self, now: datetime) -> tuple[str, str | None, str, float | None, float | None]:
        """(story, code, description, customer answers after s, STK Query final after s)."""
        r = self.rng.random()
        if self.stories:  # a scripted scenario decides
            r = {"paid": 0.0, "cancelled": 0.6, "timeout": 0.7, "poor": 0.82,
                 "paid-lagging": 0.9, "stuck": 0.99}[self.stories.pop(0)]
        answer = self.rng.uniform(3, 90)
        if r < 0.50:
            return "paid", "0", "The service request is processed successfully.", answer, \
                answer + self.rng.choice((0, 0, 1, 2))
        if r < 0.67:
            return "cancelled", "1032", "Request cancelled by user", answer, answer
        if r < 0.80:  # never answered on the phone: M-Pesa closes the prompt itself
            closes = PROMPT_LIFETIME.total_seconds() + self.rng.uniform(0, 30)
            return "timeout", "1037", "DS timeout user cannot be reached", closes, closes
        if r < 0.85:
            return "poor", "1", "The balance is insufficient for the transaction", answer, answer
        if r < 0.95:  # paid, but STK Query lags for hours (beyond the whole query schedule)
            return "paid-lagging", "0", "The service request is processed successfully.", \
                answer, answer + self.rng.uniform(1.1, 3) * 3600
        return "stuck", None, "", None, None  # never answered, and STK Query pending for ever

    def _create_push(self, payment: Payment, told_us: bool) -> Push:
        now = self.now
        story, code, desc, answer_s, visible_s = self._story(now)
        push = Push(
            checkout_id=self._id("ws_CO_"), merchant_id=self._id("mr-"), payment_id=payment.id,
            phone=payment.phone, amount=payment.amount, created_at=now, story=story, code=code,
            desc=desc,
            answered_at=None if answer_s is None else now + timedelta(seconds=answer_s),
            visible_at=None if visible_s is None else now + timedelta(seconds=visible_s),
            receipt=self._id("SIM").upper()[:10] if code == "0" else None, told_us=told_us)
        self.pushes[push.checkout_id] = push
        self.note(f"mpesa: push {push.checkout_id} for payment {payment.id} ({push.story}, "
                  f"told us: {told_us})")
        if push.answered_at is not None:
            self._send(push.answered_at, "stk", stk_body(push), f"stk {push.story} "
                       f"{push.checkout_id} of {payment.id}", payment.id)
        return push

    def query(self, payment: Payment) -> StkStatus:
        r = self.rng.random()
        if r < self.rates.query_unavailable:
            raise GatewayUnavailable("503 Service Unavailable")
        if r < self.rates.query_unavailable + self.rates.query_unknown:
            raise GatewayOutcomeUnknown("read timed out")
        push = self.pushes.get(payment.checkout_request_id or "")
        if push is None:
            raise GatewayRejected("400.002.02", "Bad Request - Invalid CheckoutRequestID")
        if not push.final_at(self.now):
            return StkStatus(pending=True)
        return StkStatus(False, push.code, push.desc)

    def push_of(self, payment_id: str) -> list[Push]:
        return [p for p in self.pushes.values() if p.payment_id == payment_id]

    # ---------------------------------------------------------------- B2C and its status

    def pay(self, payout: Payout) -> str:
        r = self.rng.random()
        ocid = payout.originator_conversation_id
        if ocid in self.pay_may_exist:
            self.repeated_sends.append(f"B2C for payout {payout.id} sent again")
        if ocid in self.transfers:  # Daraja v3 refuses a second request with the same id
            raise GatewayOutcomeUnknown("500.002.1001 Duplicate OriginatorConversationID.")
        if r < self.rates.unavailable:
            self.note(f"mpesa: b2c {payout.id}: 503 before anything was created")
            raise GatewayUnavailable("503 Service Unavailable")
        r -= self.rates.unavailable
        if r < self.rates.rejected:
            self.note(f"mpesa: b2c {payout.id}: rejected")
            raise GatewayRejected("400.002.02", "Bad Request - Invalid Amount")
        r -= self.rates.rejected
        self.pay_may_exist.add(ocid)
        if r < self.rates.outcome_unknown:
            created = self.rng.random() < 0.5
            if created:
                self._create_transfer(payout)
            self.note(f"mpesa: b2c {payout.id}: no answer (created={created})")
            raise GatewayOutcomeUnknown("read timed out")
        return self._create_transfer(payout).conversation_id

    def _create_transfer(self, payout: Payout) -> Transfer:
        now = self.now
        paid = self.rng.random() < 0.8
        code, desc = (0, "The service request is processed successfully.") if paid else \
            self.rng.choice(((2001, "The initiator information is invalid."),
                             (1, "The balance is insufficient for the transaction.")))
        slow = self.rng.random() < 0.1
        after = self.rng.uniform(600, 7200) if slow else self.rng.uniform(2, 60)
        transfer = Transfer(payout.originator_conversation_id, self._id("AG_"), payout.id,
                            payout.amount, payout.phone, now, paid, code, desc,
                            now + timedelta(seconds=after),
                            self._id("TK").upper()[:10] if paid else None)
        self.transfers[transfer.ocid] = transfer
        self.note(f"mpesa: b2c {transfer.conversation_id} for payout {payout.id} "
                  f"(paid={paid}, after {after:.0f}s)")
        if self.rng.random() < 0.08:
            self._send(transfer.completes_at, "b2c_timeout", result_body(
                transfer.ocid, transfer.conversation_id, 1037,
                "The request timed out while waiting in the queue.", ""),
                f"b2c queue timeout of {payout.id}", payout.id)
        else:
            self._send(transfer.completes_at, "b2c_result", b2c_body(transfer),
                       f"b2c result of {payout.id} (paid={paid})", payout.id)
        return transfer

    def query_status(self, payout: Payout) -> str:
        if self.rng.random() < self.rates.query_unavailable:
            raise GatewayUnavailable("503 Service Unavailable")
        query_id = f"{self.rng.randrange(1000, 9999)}-{self.rng.getrandbits(48):x}-1"
        self.queries[query_id] = payout.originator_conversation_id
        at = self.now + timedelta(seconds=self.rng.uniform(1, 10))
        transfer = self.transfers.get(payout.originator_conversation_id)
        if self.rng.random() < self.rates.status_busy:
            body, note = result_body(query_id, self._id("AG_"), 1, "System busy", ""), "busy"
        elif transfer is None or (not transfer.completed_by(at) and self.rng.random() < 0.5):
            body, note = result_body(query_id, self._id("AG_"), NOT_FOUND,
                                     "Request not found.", ""), "not found"
        elif not transfer.completed_by(at):
            body, note = status_body(query_id, transfer, "Pending"), "pending"
        else:
            state = "Completed" if transfer.paid else "Declined"
            body, note = status_body(query_id, transfer, state), state
        kind = "status_timeout" if self.rng.random() < 0.04 else "status_result"
        if kind == "status_timeout":
            body = result_body(query_id, self._id("AG_"), 1037, "queue timeout", "")
        self._send(at, kind, body, f"status of {payout.id} ({note}) query {query_id}",
                   payout.id)
        return query_id

    # ---------------------------------------------------------------- callbacks

    def _send(self, at: datetime, kind: str, body: dict[str, Any], note: str,
              subject: str) -> None:
        """M-Pesa sends a callback: lost, once, or twice; on time or late."""
        rates = self.rates
        copies = 0 if self.rng.random() < rates.callback_lost else (
            2 if self.rng.random() < rates.callback_twice else 1)
        if copies == 0:
            self.note(f"mpesa: {note}: callback lost")
        for _ in range(copies):
            late = self.rng.random() < rates.callback_late
            delay = self.rng.uniform(300, 3 * 3600) if late else self.rng.uniform(0.5, 20)
            self.deliver_at(Delivery(at + timedelta(seconds=delay), kind, json.dumps(body),
                                     note + (" (late)" if late else ""), subject=subject))

    def deliver_at(self, delivery: Delivery) -> None:
        self.counter += 1
        delivery.seq = self.counter
        self.outbox.append(delivery)

    def due(self) -> list[Delivery]:
        return [d for d in self.outbox if d.at <= self.now]

    def next_delivery(self) -> datetime | None:
        return min((d.at for d in self.outbox), default=None)


# -------------------------------------------------------------------- bodies


def stk_body(push: Push, code: str | None = None, receipt: str | None = None,
             checkout_id: str | None = None, phone: str | None = None,
             amount: int | None = None) -> dict[str, Any]:
    code = push.code if code is None else code
    assert code is not None
    callback: dict[str, Any] = {
        "MerchantRequestID": push.merchant_id,
        "CheckoutRequestID": checkout_id or push.checkout_id,
        "ResultCode": int(code), "ResultDesc": push.desc if code == push.code else "forged",
    }
    if code == "0":
        callback["CallbackMetadata"] = {"Item": [
            {"Name": "Amount", "Value": float(push.amount if amount is None else amount)},
            {"Name": "MpesaReceiptNumber", "Value": receipt or push.receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20261124103000},
            {"Name": "PhoneNumber", "Value": int(phone or push.phone)},
        ]}
    return {"Body": {"stkCallback": callback}}


def forged_stk_success(checkout_id: str, phone: str, amount: int,
                       receipt: str) -> dict[str, Any]:
    return {"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": checkout_id,
        "ResultCode": 0, "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": float(amount)},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "TransactionDate", "Value": 20261124103000},
            {"Name": "PhoneNumber", "Value": int(phone)}]}}}}


def result_body(originator: str, conversation: str, code: int, desc: str, transaction: str,
                parameters: list[tuple[str, object]] | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ResultType": 0, "ResultCode": code, "ResultDesc": desc,
        "OriginatorConversationID": originator, "ConversationID": conversation,
        "TransactionID": transaction,
    }
    if parameters is not None:
        result["ResultParameters"] = {"ResultParameter": [
            {"Key": key, "Value": value} for key, value in parameters]}
    return {"Result": result}


def b2c_body(transfer: Transfer) -> dict[str, Any]:
    if not transfer.paid:
        return result_body(transfer.ocid, transfer.conversation_id, transfer.code,
                           transfer.desc, "")
    return result_body(transfer.ocid, transfer.conversation_id, 0, transfer.desc,
                       transfer.receipt or "", [
                           ("TransactionAmount", transfer.amount),
                           ("TransactionReceipt", transfer.receipt),
                           ("ReceiverPartyPublicName", f"{transfer.phone} - Some One")])


def status_body(query_id: str, transfer: Transfer, state: str) -> dict[str, Any]:
    return result_body(query_id, f"AG_status_{query_id}", 0,
                       "The service request is processed successfully.", "OEI2AK4Q16", [
                           ("DebitPartyName", "600000 - Escrow"),
                           ("OriginatorConversationID", transfer.ocid),
                           ("TransactionReason", "" if transfer.paid else transfer.desc),
                           ("TransactionStatus", state),
                           ("Amount", str(transfer.amount)),
                           ("ConversationID", transfer.conversation_id),
                           ("ReceiptNo", transfer.receipt or "")])


def forged_status(query_id: str, state: str, ocid: str | None,
                  amount: int | None) -> dict[str, Any]:
    params: list[tuple[str, object]] = [("TransactionStatus", state),
                                        ("ReceiptNo", "FORGED0001")]
    if ocid is not None:
        params.append(("OriginatorConversationID", ocid))
    if amount is not None:
        params.append(("Amount", str(amount)))
    return result_body(query_id, "AG_forged", 0, "ok", "OEI2AK4Q16", params)
