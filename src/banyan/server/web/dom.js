// Small DOM helpers. Everything from the server goes into the page as text nodes (el(), append(),
// textContent), never as HTML: no module uses innerHTML.

/** Create an element: el("a", {href: "#", class: "x", dataset: {n: 1}, onclick: f}, "text", child). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, ...children);
  return node;
}

/** Append children: nodes as they are, strings and numbers as text nodes, arrays flattened. */
export function append(node, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Remove every child of a node (optionally replacing them). */
export function clear(node, ...children) {
  node.replaceChildren();
  return append(node, ...children);
}

export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing element ${selector}`);
  return found;
}

export function formatTime(seconds) {
  if (!seconds) return "";
  return new Date(seconds * 1000).toLocaleString();
}

export function formatNumber(n) {
  return typeof n === "number" ? n.toLocaleString() : String(n ?? "");
}

/** "alice, legal" -> ["alice", "legal"]; empty input -> []. */
export function splitList(text) {
  return String(text || "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** A short status line under a form: kind is "info", "error" or "ok". */
export function say(node, message, kind = "info") {
  node.textContent = message || "";
  node.dataset.kind = kind;
}
