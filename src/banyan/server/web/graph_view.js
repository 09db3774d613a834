// The Graph view: search entities, open one's neighbourhood, expand neighbours (double-click or the
// panel's button), an entity panel with relations and sources, colour by type or community, and
// an overview of the best-connected entities.

import { $, append, clear, el, formatNumber, say } from "./dom.js";
import { GraphCanvas } from "./graph.js";

const NEIGHBOUR_LIMIT = 300;

export class GraphView {
  constructor(api) {
    this.api = api;
    this.canvasEl = $("#graph-canvas");
    this.form = $("#entity-search");
    this.results = $("#entity-results");
    this.panel = $("#entity-panel");
    this.legendEl = $("#graph-legend");
    this.note = $("#graph-status");
    this.layoutButton = $("#graph-layout-stop");
    this.canvas = new GraphCanvas(this.canvasEl, {
      onSelect: (node) => this.select(node),
      onExpand: (node) => this.expand(node),
      onLayout: (running) => { this.layoutButton.hidden = !running; },
    });
    this.form.addEventListener("submit", (ev) => { ev.preventDefault(); this.search(); });
    for (const radio of document.querySelectorAll("input[name=colour-by]")) {
      radio.addEventListener("change", () => { this.canvas.setMode(radio.value); this.renderLegend(); });
    }
    $("#graph-overview").addEventListener("click", () => this.overview());
    $("#graph-fit").addEventListener("click", () => this.canvas.sigma?.getCamera().animatedReset());
    $("#graph-clear").addEventListener("click", () => { this.canvas.clear(); this.select(null); this.renderLegend(); });
    this.layoutButton.addEventListener("click", () => this.canvas.stopLayout());
    this.installTestHook();
  }

  show() {
    this.canvas.ensure();
  }

  /** The index changed (upload, delete): drop what is shown. */
  invalidate() {
    clear(this.results);
  }

  async search() {
    const q = this.form.elements.q.value.trim();
    if (!q) return;
    say(this.note, "Searching…");
    try {
      const { entities } = await this.api.get("api/v1/graph/entities", { q, limit: 30 });
      clear(this.results, entities.map((n) => el("li", {},
        el("button", { type: "button", class: "entity-result", dataset: { name: n.name }, onclick: () => this.open(n.name) },
          n.name),
        el("span", { class: "chip" }, n.type), el("span", { class: "muted" }, ` ${n.chunks} chunk(s)`))));
      say(this.note, entities.length ? "" : `No entity matches “${q}”.`, entities.length ? "info" : "error");
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }

  /** Show an entity's neighbourhood (replacing the graph) and select it. */
  async open(name) {
    const depth = Number($("#graph-depth").value) || 1;
    say(this.note, `Loading ${name}…`);
    try {
      const sub = await this.api.get("api/v1/graph/neighbors", { name, depth, limit: NEIGHBOUR_LIMIT });
      const center = sub.nodes.find((n) => n.name.toLowerCase() === name.toLowerCase()) || sub.nodes[0];
      this.canvas.replace(sub, center && center.id);
      this.renderLegend();
      say(this.note, this.summary(sub));
      if (center) this.select(center.id);
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }

  /** Add a node's neighbours to the graph. */
  async expand(node) {
    if (!node || !this.canvas.graph.hasNode(node)) return;
    const name = this.canvas.graph.getNodeAttribute(node, "name");
    say(this.note, `Expanding ${name}…`);
    try {
      const sub = await this.api.get("api/v1/graph/neighbors", { name, depth: 1, limit: NEIGHBOUR_LIMIT });
      const added = this.canvas.merge(sub, node);
      this.renderLegend();
      say(this.note, `${name}: ${added} new neighbour(s). ${this.counts()}`);
      this.select(node);
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }

  async overview() {
    const limit = Number($("#graph-limit").value) || 2000;
    say(this.note, "Loading the overview…");
    try {
      const sub = await this.api.get("api/v1/graph/overview", { limit });
      this.select(null);
      this.canvas.replace(sub);
      this.renderLegend();
      say(this.note, this.summary(sub));
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }

  summary(sub) {
    return `${this.counts()}${sub.truncated ? " (truncated: raise the limit or expand nodes to see more)" : ""}`;
  }

  counts() {
    return `${formatNumber(this.canvas.graph.order)} entities, ${formatNumber(this.canvas.graph.size)} relations shown.`;
  }

  renderLegend() {
    clear(this.legendEl, this.canvas.legend().map((c) => el("li", {},
      el("span", { class: "swatch", style: `background:${c.colour}` }), `${c.name} `, el("span", { class: "muted" }, c.count))));
  }

  /** Select a node: highlight it and its neighbours, and show its entity page. */
  async select(node) {
    this.canvas.select(node);
    if (!node || !this.canvas.graph.hasNode(node)) {
      clear(this.panel, el("p", { class: "muted" }, "Click an entity to see its relations; double-click to expand it."));
      return;
    }
    const attrs = this.canvas.graph.getNodeAttributes(node);
    const expand = el("button", { type: "button", onclick: () => this.expand(node) }, "Expand neighbours");
    clear(this.panel, el("h3", {}, attrs.name), el("p", {}, el("span", { class: "chip" }, attrs.etype),
      attrs.community ? el("span", { class: "chip" }, `community ${attrs.community}`) : null,
      el("span", { class: "muted" }, ` ${attrs.chunks} chunk(s)`)), expand);
    try {
      const view = await this.api.get(`api/v1/graph/entities/${encodeURIComponent(attrs.name)}`);
      if (this.canvas.selected !== node) return;
      append(this.panel, this.entityDetails(view, node));
    } catch (error) {
      append(this.panel, el("p", { class: "error" }, error.message));
    }
  }

  entityDetails(view, node) {
    const out = [];
    if (view.aliases && view.aliases.length > 1) out.push(el("p", { class: "muted" }, `Also: ${view.aliases.join(", ")}`));
    const relations = distinctRelations(view.relations || []);
    if (relations.length) {
      out.push(el("h4", {}, `Relations (${relations.length})`));
      out.push(el("ul", { class: "relations" }, relations.slice(0, 200).map((r) => el("li", {},
        this.nameLink(r.head, node, r.head_name), ` — ${r.phrase} → `, this.nameLink(r.tail, node, r.tail_name),
        r.type && r.type !== "related_to" ? el("span", { class: "chip" }, r.type.replaceAll("_", " ")) : null,
        r.count > 1 ? el("span", { class: "muted" }, ` ×${r.count}`) : null))));
    }
    if (view.attributes && view.attributes.length) {
      out.push(el("h4", {}, "Attributes"));
      out.push(el("ul", {}, view.attributes.map((a) => el("li", {}, `${a.key}: ${a.value}`))));
    }
    if (view.provenance && view.provenance.length) {
      out.push(el("h4", {}, `Sources (${view.provenance.length})`));
      out.push(el("ul", { class: "sources" }, view.provenance.slice(0, 100).map((p) => el("li", {},
        p.title || p.source, el("span", { class: "muted" }, ` ${p.source}${p.topic ? " · about it" : ""}`)))));
    }
    return out;
  }

  /** A name in a relation (a resolution key): selects its node when shown (labelled with the node's
   * name), else adds its neighbourhood beside `anchor`. */
  nameLink(name, anchor, display) {
    const shown = this.canvas.findByName(name);
    const text = shown ? this.canvas.graph.getNodeAttribute(shown, "name") : (display || name);
    return el("button", { type: "button", class: "link", onclick: async () => {
      const found = this.canvas.findByName(name);
      if (found) { this.select(found); return; }
      try {
        const sub = await this.api.get("api/v1/graph/neighbors", { name, depth: 1, limit: NEIGHBOUR_LIMIT });
        this.canvas.merge(sub, anchor);
        this.renderLegend();
        const target = this.canvas.findByName(name);
        if (target) this.select(target);
      } catch (error) {
        say(this.note, error.message, "error");
      }
    } }, text);
  }

  /** window.banyanGraph: read-only hooks for browser tests and debugging. */
  installTestHook() {
    const canvas = this.canvas;
    window.banyanGraph = {
      nodeCount: () => canvas.graph.order,
      edgeCount: () => canvas.graph.size,
      labels: () => canvas.graph.mapNodes((_n, a) => a.label),
      drawnLabels: () => canvas.drawnLabels(),
      ids: () => canvas.graph.nodes(),
      position: (name) => {
        const node = canvas.findByName(name);
        return node ? canvas.viewportPosition(node) : null;
      },
      selected: () => (canvas.selected ? canvas.graph.getNodeAttribute(canvas.selected, "name") : null),
      colourOf: (name) => {
        const node = canvas.findByName(name);
        return node ? canvas.graph.getNodeAttribute(node, "color") : null;
      },
      layoutRunning: () => Boolean(canvas.worker),
    };
  }
}

/** Relations with the same head, phrase, tail and type (from several chunks) listed once, counted. */
function distinctRelations(relations) {
  const byKey = new Map();
  for (const r of relations) {
    const key = [r.head, r.phrase, r.tail, r.type].join("\u0000");
    const seen = byKey.get(key);
    if (seen) seen.count += 1;
    else byKey.set(key, { ...r, count: 1 });
  }
  return [...byKey.values()];
}
