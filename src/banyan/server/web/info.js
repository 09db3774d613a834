// The Schema and Status views: JSON from /api/v1/schema and /api/v1/status rendered as tables and
// definition lists (all text nodes).

import { $, clear, el, formatNumber, say } from "./dom.js";

const LABELS = {
  entity_types: "Entity types", relation_types: "Relation types", attribute_types: "Attribute types",
  index: "Index", pending: "Pending work", auth: "Access", llm: "LLM", modes: "Modes",
};

function label(key) {
  if (LABELS[key]) return LABELS[key];
  return /^[a-z_]+$/.test(key) ? key.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase()) : key;
}

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function scalar(v) {
  if (v === null || v === undefined) return el("span", { class: "muted" }, "—");
  if (typeof v === "boolean") return el("span", { class: v ? "yes" : "no" }, v ? "yes" : "no");
  if (typeof v === "number") return formatNumber(v);
  return String(v);
}

/** Any JSON value as DOM: objects as <dl>, lists of objects as a table, other lists comma-joined. */
export function renderValue(value) {
  if (Array.isArray(value)) {
    if (!value.length) return el("span", { class: "muted" }, "none");
    if (value.every(isPlainObject)) return renderTable(value);
    return value.map((v) => (isPlainObject(v) || Array.isArray(v) ? JSON.stringify(v) : String(v))).join(", ");
  }
  if (isPlainObject(value)) {
    return el("dl", { class: "kv" }, Object.entries(value).map(([k, v]) => [el("dt", {}, label(k)), el("dd", {}, renderValue(v))]));
  }
  return scalar(value);
}

export function renderTable(rows) {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return el("table", { class: "data" },
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, label(c))))),
    el("tbody", {}, rows.map((r) => el("tr", {}, columns.map((c) => el("td", {}, renderValue(r[c])))))));
}

export class SchemaView {
  constructor(api) {
    this.api = api;
    this.box = $("#schema-body");
    this.note = $("#schema-status");
  }

  async show() {
    try {
      const schema = await this.api.get("api/v1/schema");
      say(this.note, "");
      clear(this.box, Object.entries(schema).map(([kind, types]) => el("section", { class: "card", dataset: { kind } },
        el("h3", {}, `${label(kind)} (${Array.isArray(types) ? types.length : 0})`), renderValue(types))));
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }
}

export class StatusView {
  constructor(api) {
    this.api = api;
    this.box = $("#status-body");
    this.note = $("#status-status");
  }

  async show() {
    try {
      const status = await this.api.get("api/v1/status");
      say(this.note, "");
      const simple = Object.fromEntries(Object.entries(status).filter(([, v]) => !isPlainObject(v)));
      const sections = Object.entries(status).filter(([, v]) => isPlainObject(v));
      clear(this.box,
        sections.map(([key, v]) => el("section", { class: "card", dataset: { section: key } }, el("h3", {}, label(key)),
          renderValue(v))),
        el("section", { class: "card" }, el("h3", {}, "Settings"), renderValue(simple)));
    } catch (error) {
      say(this.note, error.message, "error");
    }
  }
}
