// The graph canvas: a graphology graph drawn by sigma (WebGL, no DOM node per entity, so 10,000+
// nodes stay usable), entity names as labels, coloured by type or community, laid out by
// ForceAtlas2 (synchronously for small graphs, in a web worker for large ones).
/* global graphology, graphologyLibrary, Sigma */

const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#17becf", "#8c6d31", "#637939"];
const NONE_COLOUR = "#9aa0a6";
const DIM_COLOUR = "#e4e7eb";
const SYNC_LAYOUT_MAX = 500; // nodes: above this the layout runs in a worker (FA2 is quadratic without Barnes-Hut)
const LARGE = 2000; // nodes: above this, fewer labels and no edges while panning

/** A name as a lookup key, close to the server's resolution key: case, accents and punctuation ignored. */
export function nameKey(name) {
  return String(name).normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ").trim();
}

/** A stable number in [0, 1) from a string (positions and colours must not depend on load order). */
export function hashUnit(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 1000003) / 1000003;
}

export class GraphCanvas {
  /** container: the sigma element; handlers: {onSelect(id|null), onExpand(id), onLayout(running)}. */
  constructor(container, handlers) {
    this.container = container;
    this.handlers = handlers;
    this.graph = new graphology.Graph({ type: "undirected", multi: false });
    this.sigma = null;
    this.worker = null;
    this.workerTimer = null;
    this.mode = "type";
    this.colours = { type: new Map(), community: new Map() };
    this.selected = null;
    this.publishStats();
  }

  /** Create the renderer on first use (its container must be visible to have a size). */
  ensure() {
    if (this.sigma) {
      this.sigma.resize();
      this.sigma.refresh();
      return this.sigma;
    }
    this.sigma = new Sigma(this.graph, this.container, {
      allowInvalidContainer: true,
      renderEdgeLabels: false,
      labelRenderedSizeThreshold: 0,
      labelDensity: 0.7,
      labelFont: "system-ui, sans-serif",
      labelSize: 13,
      stagePadding: 50,
      defaultEdgeColor: "#cbd2d9",
      zIndex: true,
      nodeReducer: (node, data) => this.reduceNode(node, data),
      edgeReducer: (edge, data) => this.reduceEdge(edge, data),
    });
    this.sigma.on("clickNode", ({ node }) => this.handlers.onSelect(node));
    this.sigma.on("doubleClickNode", (event) => {
      event.preventSigmaDefault();
      this.handlers.onExpand(event.node);
    });
    this.sigma.on("clickStage", () => this.handlers.onSelect(null));
    this.sigma.on("enterNode", () => { this.container.style.cursor = "pointer"; });
    this.sigma.on("leaveNode", () => { this.container.style.cursor = ""; });
    return this.sigma;
  }

  // -- data ----------------------------------------------------------------------------------
  nodeAttributes(n, large) {
    const chunks = Math.max(1, Number(n.chunks) || 1);
    const size = large ? Math.min(10, 1.5 + Math.log2(chunks) * 1.2) : Math.min(18, 5 + Math.sqrt(chunks) * 1.6);
    return { label: n.name, name: n.name, etype: n.type || "other", community: n.community ?? null, chunks, size,
      color: this.colourFor(this.mode === "type" ? n.type || "other" : n.community) };
  }

  addEdges(edges) {
    for (const e of edges) {
      if (e.source === e.target || !this.graph.hasNode(e.source) || !this.graph.hasNode(e.target)) continue;
      if (this.graph.hasEdge(e.source, e.target)) continue;
      this.graph.addEdge(e.source, e.target, { relation: e.relation, weight: e.weight,
        size: Math.min(4, 0.6 + Math.log1p(Number(e.weight) || 1)) });
    }
  }

  /** Show a new subgraph ({nodes, edges}); `center` (a node id) starts in the middle. */
  replace(sub, center = null) {
    this.stopLayout();
    const large = sub.nodes.length > LARGE;
    const graph = new graphology.Graph({ type: "undirected", multi: false });
    this.graph = graph;
    sub.nodes.forEach((n, i) => {
      if (graph.hasNode(n.id)) return;
      const pos = n.id === center ? { x: 0, y: 0 } : initialPosition(n.id, i, sub.nodes.length);
      graph.addNode(n.id, { ...this.nodeAttributes(n, large), ...pos });
    });
    this.addEdges(sub.edges);
    this.selected = null;
    this.ensure().setGraph(graph);
    this.applyScale(large);
    this.layout(graph.order <= SYNC_LAYOUT_MAX ? 120 : 0);
    this.sigma.getCamera().setState({ x: 0.5, y: 0.5, ratio: 1, angle: 0 });
    this.publishStats();
  }

  /** Add a subgraph to the one shown; new nodes start around `anchor`. Returns how many were new. */
  merge(sub, anchor) {
    const large = this.graph.order + sub.nodes.length > LARGE;
    const fresh = sub.nodes.filter((n) => !this.graph.hasNode(n.id));
    const origin = anchor && this.graph.hasNode(anchor) ? this.graph.getNodeAttributes(anchor) : { x: 0, y: 0 };
    const radius = this.typicalEdgeLength();
    fresh.forEach((n, i) => {
      const angle = (2 * Math.PI * i) / fresh.length + hashUnit(n.id) * 0.3;
      this.graph.addNode(n.id, { ...this.nodeAttributes(n, large),
        x: origin.x + radius * Math.cos(angle), y: origin.y + radius * Math.sin(angle) });
    });
    this.addEdges(sub.edges);
    this.ensure();
    this.applyScale(large);
    if (fresh.length && !this.worker) this.layout(this.graph.order <= SYNC_LAYOUT_MAX ? 30 : 0, 3);
    this.publishStats();
    return fresh.length;
  }

  clear() {
    this.replace({ nodes: [], edges: [] });
  }

  typicalEdgeLength() {
    let total = 0;
    let n = 0;
    this.graph.forEachEdge((_e, _a, _s, _t, sa, ta) => {
      if (n < 200) { total += Math.hypot(sa.x - ta.x, sa.y - ta.y); n++; }
    });
    return n ? total / n : 10;
  }

  applyScale(large) {
    this.sigma.setSetting("labelRenderedSizeThreshold", large ? 7 : 0);
    this.sigma.setSetting("hideEdgesOnMove", large);
    this.sigma.setSetting("hideLabelsOnMove", large);
  }

  // -- layout --------------------------------------------------------------------------------
  /** Lay out now (`iterations` > 0, small graphs) or start the worker for a few seconds. */
  layout(iterations = 0, seconds = 8) {
    const fa2 = graphologyLibrary.layoutForceAtlas2;
    if (this.graph.order < 2) return;
    const settings = { ...fa2.inferSettings(this.graph), adjustSizes: false };
    if (iterations > 0) {
      fa2.assign(this.graph, { iterations, settings });
      return;
    }
    this.stopLayout();
    this.worker = new graphologyLibrary.FA2Layout(this.graph, { settings: { ...settings, barnesHutOptimize: true } });
    this.worker.start();
    this.handlers.onLayout(true);
    this.workerTimer = setTimeout(() => this.stopLayout(), seconds * 1000);
  }

  stopLayout() {
    clearTimeout(this.workerTimer);
    if (!this.worker) return;
    this.worker.kill();
    this.worker = null;
    this.handlers.onLayout(false);
  }

  // -- colour and selection ------------------------------------------------------------------
  colourFor(category) {
    if (category === null || category === undefined || category === "") return NONE_COLOUR;
    const map = this.colours[this.mode];
    if (!map.has(category)) {
      map.set(category, map.size < PALETTE.length ? PALETTE[map.size]
        : hslHex(hashUnit(String(category)) * 360, 0.55, 0.52));
    }
    return map.get(category);
  }

  category(attrs) {
    return this.mode === "type" ? attrs.etype : attrs.community;
  }

  setMode(mode) {
    this.mode = mode;
    this.graph.updateEachNodeAttributes((_n, a) => ({ ...a, color: this.colourFor(this.category(a)) }));
    this.publishStats();
  }

  /** The categories shown, most frequent first: [{name, colour, count}]. */
  legend(limit = 12) {
    const counts = new Map();
    this.graph.forEachNode((_n, a) => {
      const c = this.category(a) ?? null;
      counts.set(c, (counts.get(c) || 0) + 1);
    });
    return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, limit)
      .map(([name, count]) => ({ name: name ?? "none", colour: this.colourFor(name), count }));
  }

  select(node) {
    this.selected = node && this.graph.hasNode(node) ? node : null;
    this.container.dataset.selected = this.selected ? this.graph.getNodeAttribute(this.selected, "name") : "";
    if (this.sigma) this.sigma.refresh({ skipIndexation: true });
  }

  reduceNode(node, data) {
    if (!this.selected) return data;
    if (node === this.selected) return { ...data, highlighted: true, zIndex: 2 };
    if (this.graph.areNeighbors(node, this.selected)) return { ...data, zIndex: 1 };
    return { ...data, color: DIM_COLOUR, label: "", zIndex: 0 };
  }

  reduceEdge(edge, data) {
    if (!this.selected) return data;
    return this.graph.hasExtremity(edge, this.selected) ? { ...data, color: "#7b8794", zIndex: 1 } : { ...data, hidden: true };
  }

  /** The node named `name` (or its resolution key), if shown. */
  findByName(name) {
    const want = nameKey(name);
    return this.graph.findNode((_n, a) => nameKey(a.name) === want) || null;
  }

  // -- what tests and the page read ----------------------------------------------------------
  publishStats() {
    this.container.dataset.nodeCount = String(this.graph.order);
    this.container.dataset.edgeCount = String(this.graph.size);
    this.container.dataset.colourMode = this.mode;
  }

  /** Where a node is drawn, in pixels from the container's top-left corner. */
  viewportPosition(node) {
    const a = this.graph.getNodeAttributes(node);
    return this.sigma.graphToViewport({ x: a.x, y: a.y });
  }

  /** Labels sigma drew in its last frame (hovered and selected ones included). */
  drawnLabels() {
    if (!this.sigma) return [];
    const shown = this.sigma.displayedNodeLabels || new Set();
    return [...shown].map((n) => this.sigma.getNodeDisplayData(n)?.label).filter(Boolean);
  }
}

function initialPosition(id, i, n) {
  const angle = 2 * Math.PI * hashUnit(id);
  const r = Math.sqrt(n) * (0.2 + 0.8 * hashUnit(`${id}#r`)) + (i === 0 ? 0 : 1);
  return { x: r * Math.cos(angle), y: r * Math.sin(angle) };
}

/** An HSL colour as #rrggbb (sigma's WebGL programs parse hex and rgb(), not hsl()). */
export function hslHex(hue, sat, light) {
  const a = sat * Math.min(light, 1 - light);
  const channel = (n) => {
    const k = (n + hue / 30) % 12;
    const v = light - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255).toString(16).padStart(2, "0");
  };
  return `#${channel(0)}${channel(8)}${channel(4)}`;
}
