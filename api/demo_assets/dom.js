// DOM helpers. Every string from the server goes in as text (textContent, text nodes), never
// as HTML: a deal titled <img src=x onerror=…> shows those characters and runs nothing.

export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

export function setText(node, value) {
  node.textContent = value === null || value === undefined ? "" : String(value);
}

export function clear(node) {
  node.replaceChildren();
}

export function kes(amount) {
  return amount === null || amount === undefined ? "" : `KES ${Number(amount).toLocaleString("en-KE")}`;
}

export function time(iso) {
  return iso ? new Date(iso).toLocaleTimeString("en-GB") : "";
}

// An Idempotency-Key: random, and without crypto.randomUUID (which needs a secure context).
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
