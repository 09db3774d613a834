// The document viewer: a document's full text with one span [start, end) highlighted by <mark>
// and scrolled into view. Used by the Ask view (a cited passage) and the Documents view.

import { clear, el, formatTime } from "./dom.js";

export class DocViewer {
  /** panel: an element holding the viewer; it is shown when a document is open. */
  constructor(api, panel) {
    this.api = api;
    this.panel = panel;
    this.cache = new Map();
    this.title = el("h3", { class: "viewer-title" });
    this.meta = el("p", { class: "viewer-meta muted" });
    this.body = el("div", { class: "doc-text", tabindex: "0" });
    const close = el("button", { type: "button", class: "ghost", "aria-label": "Close document", onclick: () => this.close() },
      "Close");
    clear(panel, el("div", { class: "viewer-head" }, this.title, close), this.meta, this.body);
    panel.hidden = true;
  }

  /** Forget cached documents (after an upload or delete changed them). */
  reset() {
    this.cache.clear();
  }

  async document(docId) {
    if (!this.cache.has(docId)) {
      const loading = this.api.get(`api/v1/documents/${encodeURIComponent(docId)}`);
      this.cache.set(docId, loading);
      loading.catch(() => this.cache.delete(docId));
    }
    return this.cache.get(docId);
  }

  /** Open a document; with a span, highlight [start, end) and scroll it into view. */
  async show(docId, span = null) {
    this.panel.hidden = false;
    this.panel.dataset.docId = docId;
    this.title.textContent = "Loading…";
    clear(this.meta);
    clear(this.body);
    let doc;
    try {
      doc = await this.document(docId);
    } catch (error) {
      this.title.textContent = "Cannot open this document";
      this.body.append(el("p", { class: "error" }, error.message));
      return;
    }
    if (this.panel.dataset.docId !== docId) return; // another document was opened meanwhile
    this.title.textContent = doc.title || doc.source || doc.id;
    clear(this.meta, documentMeta(doc, span));
    this.render(doc.text || "", span);
  }

  render(text, span) {
    if (!span) {
      clear(this.body, text);
      this.body.scrollTop = 0;
      return;
    }
    const start = Math.max(0, Math.min(span.start, text.length));
    const end = Math.max(start, Math.min(span.end, text.length));
    const mark = el("mark", { id: "cited-span", dataset: { start, end } }, text.slice(start, end));
    clear(this.body, text.slice(0, start), mark, text.slice(end));
    mark.scrollIntoView({ block: "center" });
  }

  close() {
    this.panel.hidden = true;
    delete this.panel.dataset.docId;
  }
}

function documentMeta(doc, span) {
  const parts = [doc.source];
  if (doc.chunks !== undefined) parts.push(`${doc.chunks} chunk${doc.chunks === 1 ? "" : "s"}`);
  if (doc.allow && doc.allow.length) parts.push(`allowed: ${doc.allow.join(", ")}`);
  if (doc.indexed_at) parts.push(`indexed ${formatTime(doc.indexed_at)}`);
  if (span) parts.push(`highlighted chars ${span.start}–${span.end}`);
  return parts.filter(Boolean).join(" · ");
}
