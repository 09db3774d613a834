// The single page: tabs (Ask | Documents | Graph | Schema | Status), the API key field, and the
// views. Plain ES modules; sigma and graphology are vendored UMD scripts loaded by index.html.

import { Api } from "./api.js";
import { AskView } from "./ask.js";
import { DocumentsView } from "./documents.js";
import { $, clear, el, say } from "./dom.js";
import { GraphView } from "./graph_view.js";
import { SchemaView, StatusView } from "./info.js";
import { DocViewer } from "./viewer.js";

const TABS = ["ask", "documents", "graph", "schema", "status"];

class App {
  constructor() {
    this.keyForm = $("#key-form");
    this.keyNote = $("#key-status");
    this.who = $("#who");
    this.api = new Api(() => this.needKey("This server needs a valid API key."));
    const askViewer = new DocViewer(this.api, $("#ask-viewer"));
    const docViewer = new DocViewer(this.api, $("#doc-viewer"));
    this.graph = new GraphView(this.api);
    this.views = {
      ask: new AskView(this.api, askViewer),
      documents: new DocumentsView(this.api, docViewer, () => { askViewer.reset(); this.graph.invalidate(); }),
      graph: this.graph,
      schema: new SchemaView(this.api),
      status: new StatusView(this.api),
    };
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.addEventListener("click", () => { window.location.hash = tab.dataset.tab; });
    }
    window.addEventListener("hashchange", () => this.route());
    this.keyForm.addEventListener("submit", (ev) => { ev.preventDefault(); this.saveKey(); });
    $("#key-clear").addEventListener("click", () => { this.api.key = ""; this.keyForm.elements.key.value = ""; this.start(); });
  }

  route() {
    const name = TABS.includes(window.location.hash.slice(1)) ? window.location.hash.slice(1) : "ask";
    for (const tab of document.querySelectorAll("[role=tab]")) {
      tab.setAttribute("aria-selected", String(tab.dataset.tab === name));
    }
    for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
    document.body.dataset.view = name;
    const view = this.views[name];
    if (view.show) view.show();
  }

  needKey(message) {
    this.keyForm.hidden = false;
    this.keyForm.classList.add("attention");
    say(this.keyNote, message, "error");
  }

  saveKey() {
    this.api.key = this.keyForm.elements.key.value.trim();
    this.keyForm.classList.remove("attention");
    this.start();
  }

  /** Ask the server who we are: show the key field when auth is on, the caller's principals. */
  async start() {
    try {
      const status = await this.api.get("api/v1/status");
      const auth = status.auth || {};
      const caller = auth.caller || {};
      this.keyForm.hidden = !auth.enabled;
      say(this.keyNote, auth.enabled ? (caller.key ? `key “${caller.key}”` : "") : "", "ok");
      const principals = caller.principals || [];
      clear(this.who, principals.length ? el("span", { title: "the principals this key acts as" },
        principals[0] === "*" ? "sees all documents" : `as ${principals.join(", ")}`) : "");
      this.fillModes(status.modes);
      document.body.dataset.ready = "1";
    } catch (error) {
      if (error.status !== 401) say(this.keyNote, error.message, "error");
      document.body.dataset.ready = "1";
    }
    this.route();
  }

  fillModes(modes) {
    const select = $("#ask-form").elements.mode;
    if (!modes || !Array.isArray(modes.answer) || !modes.answer.length) return;
    const current = select.value;
    clear(select, modes.answer.map((m) => el("option", { value: m, selected: m === current }, m)));
  }
}

new App().start();
