// The Ask view: a question streamed to POST /api/v1/ask (stream=true); the answer's text appears
// as it arrives, its [n] markers become links, and a click opens the cited passage in its document.

import { $, append, clear, el, say } from "./dom.js";

const CITE = /[[【]\s*(\d+(?:\s*(?:[,，、;；]|-|–)\s*\d+)*)\s*[\]】]/g;

/** Split text into text pieces and citation groups: a group's numbers become links. */
export function citationPieces(text) {
  const pieces = [];
  let last = 0;
  for (const m of text.matchAll(CITE)) {
    if (m.index > last) pieces.push(text.slice(last, m.index));
    pieces.push({ cite: m[0], body: m[1] });
    last = m.index + m[0].length;
  }
  if (last < text.length) pieces.push(text.slice(last));
  return pieces;
}

function citationNodes(piece, onCite) {
  const nodes = [];
  let last = 0;
  for (const m of piece.cite.matchAll(/\d+/g)) {
    nodes.push(piece.cite.slice(last, m.index));
    const n = Number(m[0]);
    nodes.push(el("a", { href: `#passage-${n}`, class: "cite", dataset: { n },
      onclick: (ev) => { ev.preventDefault(); onCite(n); } }, m[0]));
    last = m.index + m[0].length;
  }
  nodes.push(piece.cite.slice(last));
  return el("span", { class: "cite-group" }, nodes);
}

/** A cited passage as the list and the viewer use it, from the answer's `passages` (or evidence). */
function passagesOf(answer) {
  if (Array.isArray(answer.passages)) return answer.passages;
  const cited = new Set(answer.citations || []);
  return (answer.evidence || []).filter((e) => cited.has(e.n)).map((e) => ({
    n: e.n, chunk_id: e.chunk_id, text: e.text, ...e.citation,
  }));
}

export class AskView {
  constructor(api, viewer) {
    this.api = api;
    this.viewer = viewer;
    this.form = $("#ask-form");
    this.answerBox = $("#answer");
    this.meta = $("#answer-meta");
    this.list = $("#passages");
    this.note = $("#ask-status");
    this.stopButton = $("#ask-stop");
    this.passages = new Map();
    this.controller = null;
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.ask(); });
    this.stopButton.addEventListener("click", () => this.stop());
    this.form.elements.question.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); this.ask(); }
    });
  }

  stop() {
    if (this.controller) this.controller.abort();
  }

  async ask() {
    const question = this.form.elements.question.value.trim();
    if (!question) { say(this.note, "Type a question first.", "error"); return; }
    this.stop();
    const controller = new AbortController();
    this.controller = controller;
    this.reset();
    this.answerBox.dataset.state = "streaming";
    this.stopButton.hidden = false;
    say(this.note, "Retrieving evidence…");
    const body = { question, mode: this.form.elements.mode.value, reject: this.form.elements.reject.checked, stream: true };
    let text = "";
    let deltas = 0;
    try {
      await this.api.stream("POST", "api/v1/ask", {
        json: body, signal: controller.signal,
        onEvent: (event, data) => {
          if (event === "delta") {
            text += data && typeof data === "object" ? data.text || "" : String(data);
            this.answerBox.dataset.deltas = String(++deltas);
            say(this.note, "Answering…");
            this.renderText(text);
          } else if (event === "answer") {
            this.finish(data);
          } else if (event === "error") {
            throw new Error((data && data.message) || String(data));
          }
        },
      });
      if (this.answerBox.dataset.state === "streaming") throw new Error("the answer stream ended early");
    } catch (error) {
      if (error.name === "AbortError") {
        this.answerBox.dataset.state = "stopped";
        say(this.note, "Stopped.");
      } else {
        controller.abort();
        this.answerBox.dataset.state = "error";
        say(this.note, error.message, "error");
      }
    } finally {
      if (this.controller === controller) this.controller = null;
      this.stopButton.hidden = true;
    }
  }

  reset() {
    this.passages.clear();
    clear(this.answerBox);
    clear(this.meta);
    clear(this.list);
    this.answerBox.dataset.deltas = "0";
    this.viewer.close();
  }

  renderText(text) {
    const pieces = citationPieces(text);
    clear(this.answerBox, pieces.map((p) => (typeof p === "string" ? p : citationNodes(p, (n) => this.openCitation(n)))));
  }

  finish(answer) {
    for (const p of passagesOf(answer)) this.passages.set(p.n, p);
    this.renderText(answer.answer || "");
    this.answerBox.dataset.state = "done";
    say(this.note, answer.error ? `LLM failed, extractive answer shown: ${answer.error}` : "",
      answer.error ? "error" : "info");
    clear(this.meta, answerMeta(answer));
    clear(this.list, [...this.passages.values()].map((p) => this.passageItem(p)));
  }

  passageItem(p) {
    const where = [p.source, p.page ? `p. ${p.page}` : "", `chars ${p.start}–${p.end}`].filter(Boolean).join(" · ");
    return el("li", { id: `passage-${p.n}`, class: "passage", dataset: { n: p.n } },
      el("button", { type: "button", class: "link", onclick: () => this.openCitation(p.n) },
        `[${p.n}] ${p.title || p.source || p.doc_id}`),
      el("span", { class: "muted" }, ` ${where}`),
      el("blockquote", {}, p.text || ""));
  }

  openCitation(n) {
    const p = this.passages.get(n);
    if (!p) return;
    for (const li of this.list.querySelectorAll(".passage")) li.classList.toggle("active", li.dataset.n === String(n));
    this.viewer.show(p.doc_id, { start: p.start, end: p.end });
  }
}

function answerMeta(a) {
  const bits = [`mode: ${a.mode}`];
  if (a.extractive) bits.push("extractive (no LLM)");
  if (a.model) bits.push(`model: ${a.model}`);
  if (a.insufficient) bits.push("insufficient evidence");
  if (a.tokens_in || a.tokens_out) bits.push(`tokens: ${a.tokens_in} in / ${a.tokens_out} out`);
  if (a.seconds !== undefined) bits.push(`${a.seconds}s`);
  const out = [el("span", {}, bits.join(" · "))];
  for (const note of a.notes || []) out.push(el("div", { class: "muted" }, note));
  if (a.uncited && a.uncited.length) out.push(el("div", { class: "muted" }, `${a.uncited.length} uncited sentence(s)`));
  return append(el("div"), out);
}
