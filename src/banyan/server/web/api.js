// The HTTP client: JSON requests with the API key, and server-sent events read from a fetch
// stream (EventSource cannot send an Authorization header).

const KEY_STORAGE = "banyan.apiKey";

export class ApiError extends Error {
  constructor(status, type, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.type = type;
  }
}

/** Incremental parser for a text/event-stream body: push() text, get complete events back. */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.event = "";
    this.data = [];
  }

  push(text) {
    this.buffer += text;
    const lines = this.buffer.split(/\r?\n/);
    this.buffer = lines.pop();
    const events = [];
    for (const line of lines) {
      if (line === "") {
        if (this.data.length) events.push({ event: this.event || "message", data: this.data.join("\n") });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
    }
    return events;
  }
}

function parseData(data) {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}

export class Api {
  /** onUnauthorized(error) is called on every 401 (the app then shows the key field). */
  constructor(onUnauthorized = () => {}) {
    this.onUnauthorized = onUnauthorized;
  }

  get key() {
    return localStorage.getItem(KEY_STORAGE) || "";
  }

  set key(value) {
    if (value) localStorage.setItem(KEY_STORAGE, value);
    else localStorage.removeItem(KEY_STORAGE);
  }

  url(path, params) {
    const url = new URL(path.replace(/^\//, ""), document.baseURI);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    return url;
  }

  headers(extra = {}) {
    const headers = { Accept: "application/json", ...extra };
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    return headers;
  }

  async fail(response) {
    let type = `http_${response.status}`;
    let message = response.statusText || `HTTP ${response.status}`;
    try {
      const body = await response.json();
      const err = body && body.error;
      if (err && typeof err === "object") {
        type = err.type || type;
        message = err.message || message;
      } else if (body && body.detail) {
        message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
      }
    } catch {
      // not JSON: keep the status text
    }
    const error = new ApiError(response.status, type, message);
    if (response.status === 401) this.onUnauthorized(error);
    throw error;
  }

  /** method, path ("api/v1/..."), {params, json, form, signal} -> parsed JSON. */
  async request(method, path, { params, json, form, signal } = {}) {
    const init = { method, headers: this.headers(), signal };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    } else if (form !== undefined) {
      init.body = form;
    }
    const response = await fetch(this.url(path, params), init);
    if (!response.ok) await this.fail(response);
    return response.status === 204 ? null : response.json();
  }

  get(path, params, signal) {
    return this.request("GET", path, { params, signal });
  }

  post(path, json, signal) {
    return this.request("POST", path, { json, signal });
  }

  /** Read an SSE response; onEvent(name, data) for each event (data parsed as JSON when it is). */
  async stream(method, path, { json, signal, onEvent }) {
    const init = { method, headers: this.headers({ Accept: "text/event-stream" }), signal };
    if (json !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    const response = await fetch(this.url(path), init);
    if (!response.ok) await this.fail(response);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const ev of parser.push(value)) onEvent(ev.event, parseData(ev.data));
    }
    for (const ev of parser.push("\n\n")) onEvent(ev.event, parseData(ev.data));
  }
}
