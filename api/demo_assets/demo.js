// The /demo page: three panels (buyer, seller, admin), each its own Session, wired to the
// REST API and to the Socket.IO events of docs/API.md. Deal events go to the parties; the
// page tells the admin's panel when a party's panel saw a change (the admin gets no event).

import { el, kes, newKey, setText } from "./dom.js";
import { DealView } from "./deal-view.js";
import { Session } from "./session.js";

// The Daraja sandbox's test phones (docs/API.md, "The Daraja sandbox").
const STK_PHONES = [
  ["254708374149", "success"],
  ["254700000001", "cancelled by the user (1032)"],
  ["254700000002", "insufficient balance (1)"],
  ["254700000003", "no response from the user (1037)"],
  ["254700000004", "wrong PIN (2001)"],
  ["254700000005", "success, callback lost (STK Query knows)"],
  ["254700000006", "success, callback sent three times"],
  ["254700000007", "rate limited, then success on retry"],
];
const B2C_PHONES = [
  ["254708374149", "success"],
  ["254700000001", "invalid initiator (2001)"],
  ["254700000002", "insufficient funds in the utility account (1)"],
  ["254700000003", "timeout (only the queue timeout is called)"],
  ["254700000005", "success, result lost (status query knows)"],
  ["254700000006", "success, result sent twice"],
  ["254700000007", "error 500, then success on retry"],
];
const DONE = {
  pay: "payment queued: the phone gets the STK prompt", release: "released to the seller",
  deliver: "marked delivered: the inspection period runs", dispute: "dispute opened",
  resolve: "dispute resolved", disputes: "disputes read",
};
const panels = {};

class Panel {
  constructor(section) {
    this.section = section;
    this.role = section.dataset.role;
    this.deals = new Map();
    this.currentId = null;
    this.session = new Session({
      onEvent: (event, data) => this.event(event, data),
      onState: (text, ended) => this.state(text, ended),
      onReconnect: () => this.caughtUp(),
    });
    this.view = new DealView(this.role, section.querySelector(".deal-slot"), (id) => this.said(this.select(id)));
    this.view.parts.list.hidden = this.role === "admin";
    this.part = (name) => section.querySelector(`[data-testid="${this.role}-${name}"]`);
    this.wire();
  }

  wire() {
    const auth = this.section.querySelector("form.auth");
    const email = auth.elements.email;
    if (this.role !== "admin") email.value = `${this.role}-${newKey().slice(0, 8)}@example.com`;
    auth.addEventListener("submit", (e) => {
      e.preventDefault();
      this.signIn(this.role === "admin" ? "login" : "register");
    });
    const login = auth.querySelector('[data-action="login"][type="button"]');
    if (login) login.addEventListener("click", () => auth.reportValidity() && this.signIn("login"));
    for (const button of this.section.querySelectorAll(".deal-actions [data-action], h3 [data-action]")) {
      button.addEventListener("click", () => this.act(button.dataset.action));
    }
    this.fill(this.part("phone"), STK_PHONES);
    this.fill(this.part("withdraw-phone"), B2C_PHONES);
    const open = this.section.querySelector("form.open-deal");
    this.openDetails = this.section.querySelector("details.open-deal");
    if (open) open.addEventListener("submit", (e) => { e.preventDefault(); this.open(open); });
    const withdraw = this.section.querySelector("form.withdraw");
    if (withdraw) withdraw.addEventListener("submit", (e) => { e.preventDefault(); this.withdraw(withdraw); });
    this.buttons();
  }

  fill(select, phones) {
    if (!select) return;
    for (const [phone, outcome] of phones) select.append(el("option", { value: phone }, `${phone}: ${outcome}`));
  }

  say(text, error = false) {
    const line = this.part("message");
    setText(line, text);
    line.classList.toggle("error", error);
  }

  // A read started by a click, an event or another call: a failure is said, never thrown.
  said(promise) {
    return promise.catch((error) => this.say(error.message, true));
  }

  async run(what, action) {
    try {
      const result = await action();
      this.say(what);
      return result;
    } catch (error) {
      const details = Object.entries(error.details || {}).map(([k, v]) => `${k}: ${[].concat(v).join(" ")}`);
      this.say(`${error.message}${details.length ? ` (${details.join("; ")})` : ""}`, true);
      return undefined;
    }
  }

  async signIn(how) {
    const f = this.section.querySelector("form.auth").elements;
    const body = how === "login" ? { email: f.email.value, password: f.password.value }
      : { email: f.email.value, password: f.password.value, firstName: f.firstName.value,
        lastName: f.lastName.value, role: this.role, ...(f.phone && f.phone.value ? { phone: f.phone.value } : {}) };
    const user = await this.run(how === "login" ? "signed in" : "signed up",
      () => this.session.signIn(`/api/auth/${how}`, body));
    if (!user) return;
    this.startOver();
    setText(this.part("who"), `${user.firstName} ${user.lastName} <${user.email}>, ${user.role}`);
    this.section.querySelector("form.auth").hidden = true;
    this.section.querySelector(".signed-in").hidden = false;
    if (this.role === "seller") panels.buyer.sellerKnown(user.email);
    await this.said(this.reload());
  }

  // A sign-in (the first, or after a session ended, perhaps as someone else): nothing that
  // whoever was signed in before saw stays on the panel.
  startOver() {
    this.deals.clear();
    this.currentId = null;
    this.view.forget();
    for (const name of ["payouts", "disputes"]) {
      const part = this.part(name);
      if (part) part.replaceChildren();
    }
    const amount = this.part("seller-amount");
    if (amount) amount.value = "";
    this.buttons();
  }

  // The socket is back: what changed while it was down came as events nobody received.
  async caughtUp() {
    try {
      await this.reload();
      if (this.currentId) await this.select(this.currentId);
    } catch (error) {
      this.say(error.message, true);
    }
  }

  state(text, ended) {
    setText(this.part("who"), `${this.session.user ? this.session.user.email : "signed out"}: ${text}`);
    if (ended) {
      this.section.querySelector("form.auth").hidden = false;
      this.section.querySelector(".signed-in").hidden = true;
    }
  }

  sellerKnown(email) {
    const field = this.part("seller-email");
    if (field && !field.value) field.value = email;
  }

  async reload() {
    if (this.role === "admin") return this.disputes();
    const [wallet, page] = await Promise.all([
      this.session.call("GET", "/api/wallet"),
      this.session.call("GET", `/api/transactions?role=${this.role}&limit=20`),
    ]);
    this.wallet(wallet);
    for (const deal of page.items) this.deals.set(deal.id, deal);
    this.listDeals();
    if (this.role === "seller") await this.payouts();
  }

  wallet(wallet) {
    setText(this.part("wallet"), kes(wallet.balance));
  }

  listDeals() {
    const newestFirst = [...this.deals.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    this.view.list(newestFirst, this.currentId);
  }

  async disputes() {
    const page = await this.session.call("GET", "/api/transactions?status=disputed&limit=50")
      .catch((error) => this.say(error.message, true));
    if (!page) return;
    const list = this.part("disputes");
    list.replaceChildren();
    for (const deal of page.items) {
      const button = el("button", { type: "button", "data-deal": deal.id },
        `${deal.title} · ${kes(deal.amount)} · ${deal.dispute ? deal.dispute.reason : ""}`);
      button.addEventListener("click", () => this.said(this.select(deal.id)));
      list.append(el("li", {}, button));
    }
    if (!page.items.length) list.append(el("li", {}, "no open dispute"));
  }

  async select(id) {
    if (this.currentId !== id) this.view.reset();
    this.currentId = id;
    const [deal, payments] = await Promise.all([
      this.session.call("GET", `/api/transactions/${id}`),
      this.session.call("GET", `/api/transactions/${id}/payments`),
    ]);
    this.show(deal);
    if (id !== this.currentId) return; // another deal was picked meanwhile: this one is not shown
    const latest = payments.slice().sort((a, b) => a.createdAt.localeCompare(b.createdAt)).pop();
    this.view.payment(latest || null);
    const amount = this.part("seller-amount");
    if (amount && !amount.value) amount.value = Math.floor(deal.amount / 2);
    await this.ledger();
  }

  show(deal) {
    this.deals.set(deal.id, deal);
    if (deal.id === this.currentId) this.view.deal(deal);
    if (this.role !== "admin") this.listDeals();
    this.buttons();
  }

  async ledger() {
    if (!this.currentId) return;
    this.view.ledger(await this.session.call("GET", `/api/transactions/${this.currentId}/ledger`));
  }

  buttons() {
    const deal = this.deals.get(this.currentId);
    const status = deal ? deal.status : null;
    const allowed = { pay: status === "pending", release: status === "active",
      dispute: status === "active", deliver: status === "active" && !deal.deliveredAt,
      resolve: status === "disputed" };
    for (const button of this.section.querySelectorAll(".deal-actions [data-action]")) {
      button.disabled = !allowed[button.dataset.action];
    }
  }

  // Socket.IO: what the server pushes to this person.
  event(name, data) {
    if (name === "transaction:created" || name === "transaction:updated") {
      if (name === "transaction:created" && !this.currentId) {
        this.currentId = data.id;
        this.said(this.select(data.id));
      }
      this.show(data);
      if (data.id === this.currentId) this.said(this.refreshDeal());
      panels.admin.partySawChange(data);
    } else if (name === "payment:updated") {
      if (data.transactionId === this.currentId) this.view.payment(data);
    } else if (name === "wallet:updated") {
      this.wallet(data);
      if (this.role === "seller") this.said(this.payouts());
    } else if (name === "notification") {
      this.view.notification(data);
      if (data.withdrawalId && this.role === "seller") this.said(this.payouts());
    }
  }

  // An event's deal has no timeline: read it, and the ledger, again.
  async refreshDeal() {
    const id = this.currentId;
    const deal = await this.session.call("GET", `/api/transactions/${id}`);
    if (id === this.currentId) this.view.deal(deal);
    await this.ledger();
  }

  partySawChange(deal) {
    if (!this.session.signedIn) return;
    this.disputes();
    if (deal.id === this.currentId) this.said(this.select(deal.id));
  }

  async open(form) {
    const f = form.elements;
    const deal = await this.run("deal opened", () => this.session.call("POST", "/api/transactions", {
      title: f.title.value, description: f.description.value, amount: Number(f.amount.value),
      sellerEmail: f.sellerEmail.value }));
    if (!deal) return;
    this.deals.set(deal.id, deal);
    this.openDetails.open = false; // room for the deal; the form is one click away
    await this.said(this.select(deal.id));
  }

  async act(action) {
    const id = this.currentId;
    const calls = {
      pay: () => this.session.call("POST", `/api/transactions/${id}/pay`,
        { phone: this.part("phone").value }, { "Idempotency-Key": newKey() }),
      release: () => this.session.call("POST", `/api/transactions/${id}/release`),
      deliver: () => this.session.call("POST", `/api/transactions/${id}/deliver`),
      dispute: () => this.session.call("POST", `/api/transactions/${id}/dispute`,
        { reason: this.part("reason").value }),
      resolve: () => this.resolve(id),
      disputes: () => this.disputes(),
    };
    const result = await this.run(DONE[action], calls[action]);
    if (!result || action === "disputes") return;
    if (action === "pay") this.view.payment(result);
    else this.show(result);
    if (action === "resolve") { await this.said(this.ledger()); this.disputes(); }
  }

  resolve(id) {
    const outcome = this.part("outcome").value;
    const body = { outcome, note: this.section.querySelector('[name="note"]').value };
    if (outcome === "split") body.sellerAmount = Number(this.part("seller-amount").value);
    return this.session.call("POST", `/api/transactions/${id}/resolve`, body);
  }

  async withdraw(form) {
    const payout = await this.run("withdrawal queued", () => this.session.call("POST",
      "/api/wallet/withdrawals", { amount: Number(form.elements.amount.value),
        phone: form.elements.phone.value }, { "Idempotency-Key": newKey() }));
    if (payout) await this.said(this.payouts());
  }

  async payouts() {
    const list = this.part("payouts");
    const payouts = await this.session.call("GET", "/api/wallet/withdrawals");
    list.replaceChildren(...payouts.slice(0, 5).map((p) => el("li", {},
      `${kes(p.amount)} to ${p.phone}: `, el("b", {}, p.status),
      p.resultDesc && p.status === "failed" ? ` (${p.resultDesc})` : "")));
  }
}

window.addEventListener("DOMContentLoaded", () => {
  for (const section of document.querySelectorAll("section.panel")) {
    panels[section.dataset.role] = new Panel(section);
  }
  document.body.dataset.ready = "true";
});
