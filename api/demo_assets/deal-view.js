// One panel's view of a deal: status, payment, settlement, timeline, ledger, its deal list
// and its notifications. Built from the page's <template>; each part gets a data-testid
// "<role>-<part>" for the browser tests. Text only (dom.js).

import { clear, el, kes, setText, time } from "./dom.js";

export class DealView {
  constructor(role, slot, onSelect) {
    const root = document.getElementById("deal-view").content.firstElementChild.cloneNode(true);
    this.parts = {};
    for (const node of root.querySelectorAll("[data-part]")) {
      this.parts[node.dataset.part] = node;
      node.dataset.testid = `${role}-${node.dataset.part}`;
    }
    root.dataset.testid = `${role}-deal`;
    this.root = root;
    this.onSelect = onSelect;
    this.version = 0;
    slot.append(root);
  }

  deal(deal) {
    if (deal.version < this.version) return; // an older read arrived after a newer event
    this.version = deal.version;
    this.root.dataset.dealId = deal.id;
    const p = this.parts;
    setText(p.title, deal.title);
    setText(p.status, deal.status);
    p.status.dataset.status = deal.status;
    setText(p.amount, `${kes(deal.amount)}${deal.deliveredAt ? ` · delivered ${time(deal.deliveredAt)}` : ""}`);
    const s = deal.settlement;
    setText(p.settlement, s ? `${s.kind}: seller ${kes(s.sellerAmount)} (fee ${kes(s.fee)}), `
      + `buyer ${kes(s.buyerAmount)}` : deal.dispute ? `disputed: ${deal.dispute.reason}` : "none yet");
    if (deal.timeline) this.timeline(deal.timeline, deal);
  }

  reset() {
    this.version = 0;
    for (const name of ["timeline", "ledger", "payment-reason", "settlement", "amount", "title",
      "ledger-sum"]) clear(this.parts[name]);
    setText(this.parts.status, "none yet");
    setText(this.parts["payment-status"], "none");
  }

  // No deal at all: the panel's person changed.
  forget() {
    this.reset();
    delete this.root.dataset.dealId;
    delete this.parts["payment-status"].dataset.status;
    delete this.parts.status.dataset.status;
    clear(this.parts.list);
    clear(this.parts.notifications);
  }

  timeline(entries, deal) {
    clear(this.parts.timeline);
    const who = { [deal.buyer]: "buyer", [deal.seller]: "seller" };
    for (const entry of entries) {
      const note = entry.note ? ` — ${entry.note}` : "";
      this.parts.timeline.append(el("li", {}, `${time(entry.timestamp)} ${entry.event} → `,
        el("b", {}, entry.status), ` (${who[entry.actor] || entry.actor})${note}`));
    }
  }

  payment(payment) {
    const p = this.parts;
    setText(p["payment-status"], payment ? payment.status : "none");
    p["payment-status"].dataset.status = payment ? payment.status : "";
    if (!payment) return clear(p["payment-reason"]);
    const receipt = payment.reference ? `receipt ${payment.reference}` : "";
    const failed = payment.status === "failed"
      ? `${payment.resultDesc || "failed"} (M-Pesa ${payment.resultCode})` : "";
    setText(p["payment-reason"], `${kes(payment.amount)} from ${payment.phone} ${failed || receipt}`);
  }

  ledger(ledger) {
    const body = this.parts.ledger;
    clear(body);
    for (const posting of ledger.postings) {
      posting.lines.forEach((line, index) => {
        body.append(el("tr", {}, el("td", {}, index === 0 ? posting.kind : ""),
          el("td", {}, line.account), el("td", { class: "number" }, line.amount)));
      });
    }
    setText(this.parts["ledger-sum"], `${ledger.postings.length} postings, sum ${ledger.sum}`);
  }

  list(deals, currentId) {
    clear(this.parts.list);
    for (const deal of deals) {
      const button = el("button", { type: "button", "data-deal": deal.id },
        `${deal.title} · ${kes(deal.amount)} · ${deal.status}`);
      if (deal.id === currentId) button.classList.add("current");
      button.addEventListener("click", () => this.onSelect(deal.id));
      this.parts.list.append(el("li", {}, button));
    }
  }

  notification(notification) {
    this.parts.notifications.prepend(el("li", {}, `${time(notification.createdAt)} `
      + `${notification.message}`));
    while (this.parts.notifications.children.length > 6) this.parts.notifications.lastChild.remove();
  }
}
