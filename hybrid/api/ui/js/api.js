// The API client: token in sessionStorage (never in a URL), REST under /api/v1, the /ws feed.
const KEY = "hybrid.token";
export const PREFIX = "/api/v1";

export class ApiError extends Error {
  constructor(status, detail) {
    const message = Array.isArray(detail)
      ? detail.map((e) => `${(e.loc || []).join(".")}: ${e.msg}`).join("; ")
      : (detail && detail.message) || String(detail);
    super(message);
    this.status = status;
    this.detail = detail;
  }
  // Field errors as [{loc, msg}], empty for a non-422 answer.
  get fields() {
    return Array.isArray(this.detail) ? this.detail : [];
  }
}

export const token = {
  get: () => sessionStorage.getItem(KEY),
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export async function api(method, path, body, headers = {}) {
  const response = await fetch(PREFIX + path, {
    method,
    headers: {
      Authorization: `Bearer ${token.get()}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data ? data.detail : response.statusText);
  return data;
}

export const get = (path) => api("GET", path);
export const post = (path, body, headers) => api("POST", path, body ?? {}, headers);

export function idempotencyKey() {
  return `ui-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

// The live feed: calls listeners[type](data, message) for each message; reconnects after a drop.
export class Feed {
  constructor() {
    this.listeners = new Map();
    this.socket = null;
    this.closed = false;
    this.last = null; // the latest snapshot's data
  }
  on(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(listener);
    if (type === "snapshot" && this.last) listener(this.last);
    return () => this.listeners.get(type).delete(listener);
  }
  connect() {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`;
    const socket = new WebSocket(url, ["bearer", token.get()]);
    this.socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "snapshot") this.last = message.data;
      for (const listener of this.listeners.get(message.type) || []) listener(message.data, message);
    };
    socket.onclose = () => {
      if (!this.closed) setTimeout(() => this.connect(), 1000);
    };
  }
  close() {
    this.closed = true;
    if (this.socket) this.socket.close();
  }
}
