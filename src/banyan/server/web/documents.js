// The Documents view: upload files or paste text (each an indexing job whose progress streams
// from /api/v1/jobs/{id}/events), list the documents the caller may see, open or delete one.

import { $, clear, el, formatNumber, formatTime, say, splitList } from "./dom.js";

const STAGE_NAMES = { ingest: "reading", embed: "embedding", extract: "extracting", resolve: "resolving" };

function isOver(job) {
  return job.state === "done" || job.state === "failed";
}

function reportLine(report) {
  if (!report) return "";
  const parts = [`${report.files_indexed} file(s) indexed`, `${report.documents_added} document(s) added`,
    `${report.chunks_added} chunk(s)`];
  if (report.files_unchanged) parts.push(`${report.files_unchanged} unchanged`);
  if (report.files_failed) parts.push(`${report.files_failed} failed`);
  return parts.join(", ");
}

class JobCard {
  constructor(job) {
    this.progress = el("progress", { max: "1", value: "0" });
    this.text = el("span", { class: "job-text" });
    this.detail = el("div", { class: "job-detail muted" });
    this.node = el("li", { class: "job", dataset: { jobId: job.id } },
      el("strong", {}, (job.files || []).join(", ") || job.id), " ", this.text, this.progress, this.detail);
    this.update(job);
  }

  update(job) {
    this.job = { ...this.job, ...job };
    const j = this.job;
    this.node.dataset.state = j.state || "running";
    const total = Number(j.total) || 0;
    const done = Number(j.done) || 0;
    if (j.state === "done") {
      this.progress.max = 1;
      this.progress.value = 1;
    } else if (total > 0) {
      this.progress.max = total;
      this.progress.value = Math.min(done, total);
    } else {
      this.progress.removeAttribute("value"); // indeterminate
    }
    const stage = j.stage ? STAGE_NAMES[j.stage] || j.stage : "";
    const counts = total > 0 && !isOver(j) ? ` ${done}/${total}` : "";
    this.text.textContent = `${j.state}${stage && !isOver(j) ? ` · ${stage}` : ""}${counts}`;
    const failures = ((j.report && j.report.failures) || []).map((f) => `${f.path}: ${f.reason}`);
    this.detail.textContent = [j.error, reportLine(j.report), ...failures].filter(Boolean).join(" — ");
    this.node.classList.toggle("failed", j.state === "failed");
  }
}

export class DocumentsView {
  /** onIndexed() is called whenever a job finished or a document was removed. */
  constructor(api, viewer, onIndexed = () => {}) {
    this.api = api;
    this.viewer = viewer;
    this.onIndexed = onIndexed;
    this.cards = new Map();
    this.jobList = $("#jobs");
    this.table = $("#doc-rows");
    this.count = $("#doc-count");
    this.uploadForm = $("#upload-form");
    this.textForm = $("#text-form");
    this.uploadNote = $("#upload-status");
    this.textNote = $("#text-status");
    this.uploadForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.upload(); });
    this.textForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.addText(); });
    $("#doc-refresh").addEventListener("click", () => this.refresh());
  }

  async show() {
    await Promise.all([this.refresh(), this.loadJobs()]);
  }

  async upload() {
    const files = [...this.uploadForm.elements.files.files];
    if (!files.length) { say(this.uploadNote, "Choose one or more files.", "error"); return; }
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    const allow = splitList(this.uploadForm.elements.allow.value);
    if (allow.length) form.append("allow", allow.join(","));
    say(this.uploadNote, `Uploading ${files.length} file(s)…`);
    try {
      const { job } = await this.api.request("POST", "api/v1/documents", { form });
      say(this.uploadNote, "Uploaded; indexing.", "ok");
      this.uploadForm.reset();
      this.watch(job);
    } catch (error) {
      say(this.uploadNote, error.message, "error");
    }
  }

  async addText() {
    const text = this.textForm.elements.text.value;
    if (!text.trim()) { say(this.textNote, "Paste some text first.", "error"); return; }
    const body = { title: this.textForm.elements.title.value.trim(), text, allow: splitList(this.textForm.elements.allow.value) };
    if (!body.allow.length) delete body.allow;
    say(this.textNote, "Sending…");
    try {
      const { job } = await this.api.post("api/v1/documents/text", body);
      say(this.textNote, "Added; indexing.", "ok");
      this.textForm.reset();
      this.watch(job);
    } catch (error) {
      say(this.textNote, error.message, "error");
    }
  }

  async loadJobs() {
    try {
      const { jobs } = await this.api.get("api/v1/jobs");
      for (const job of [...jobs].reverse()) {
        if (!this.cards.has(job.id)) this.watch(job);
      }
    } catch (error) {
      if (error.status !== 404) console.warn("jobs:", error.message);
    }
    this.jobList.dataset.loaded = "1";
  }

  card(job) {
    let card = this.cards.get(job.id);
    if (!card) {
      card = new JobCard(job);
      this.cards.set(job.id, card);
      this.jobList.prepend(card.node);
    }
    return card;
  }

  /** Show a job and follow its progress until it is done or failed. */
  async watch(job) {
    const card = this.card(job);
    if (isOver(job)) return;
    try {
      await this.api.stream("GET", `api/v1/jobs/${encodeURIComponent(job.id)}/events`, {
        onEvent: (event, data) => {
          if (event === "progress") card.update({ state: "running", ...data });
          else if (event === "done") card.update({ state: "done", ...data });
          else if (event === "error") card.update({ state: "failed", ...(typeof data === "object" ? data : {}),
            error: (data && (data.error || data.message)) || String(data) });
        },
      });
    } catch (error) {
      console.warn("job events:", error.message);
    }
    while (!isOver(card.job)) { // the stream ended early: poll
      await new Promise((r) => setTimeout(r, 1000));
      try {
        card.update(await this.api.get(`api/v1/jobs/${encodeURIComponent(job.id)}`));
      } catch (error) {
        card.update({ state: "failed", error: error.message });
      }
    }
    this.viewer.reset();
    this.onIndexed();
    await this.refresh();
  }

  async refresh() {
    try {
      const { documents } = await this.api.get("api/v1/documents");
      this.count.textContent = `${formatNumber(documents.length)} document(s)`;
      clear(this.table, documents.map((d) => this.row(d)));
      if (!documents.length) this.table.append(el("tr", {}, el("td", { colspan: "6", class: "muted" }, "No documents yet.")));
    } catch (error) {
      this.count.textContent = error.message;
    }
  }

  row(doc) {
    const remove = el("button", { type: "button", class: "danger small" }, "Delete");
    remove.addEventListener("click", () => this.confirmDelete(doc, remove));
    return el("tr", { dataset: { docId: doc.id } },
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => this.viewer.show(doc.id) },
        doc.title || doc.source || doc.id)),
      el("td", { class: "muted path" }, doc.source),
      el("td", { class: "num" }, formatNumber(doc.chunks)),
      el("td", {}, (doc.allow || []).map((p) => el("span", { class: "chip" }, p))),
      el("td", { class: "muted" }, formatTime(doc.indexed_at)),
      el("td", {}, remove));
  }

  /** Two clicks delete: the first arms the button for a few seconds. */
  async confirmDelete(doc, button) {
    if (button.dataset.armed !== "1") {
      button.dataset.armed = "1";
      button.textContent = "Click to confirm";
      setTimeout(() => { button.dataset.armed = ""; button.textContent = "Delete"; }, 4000);
      return;
    }
    button.disabled = true;
    try {
      await this.api.request("DELETE", `api/v1/documents/${encodeURIComponent(doc.id)}`);
      if (this.viewer.panel.dataset.docId === doc.id) this.viewer.close();
      this.viewer.reset();
      this.onIndexed();
    } catch (error) {
      this.count.textContent = error.message;
    }
    await this.refresh();
  }
}
