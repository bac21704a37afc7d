// The realtime client: the one place a page gets live events from. Only the dispatch table
// (events.js) subscribes here, once at startup, and feeds the store; views watch the store, never
// the stream, and none opens a connection or polls.
//
// One stream per browser, not per tab. Browsers allow six HTTP/1.1 connections per origin, so
// a stream per tab would leave a seventh tab dead. The tabs of one user elect a leader with the
// Web Locks API: whoever holds the lock owns the single EventSource and relays every frame to the
// other tabs over a BroadcastChannel. The lock is released when the leader's document goes away
// (closed, navigated, crashed), and the next waiting tab takes it and opens the stream from the
// last event id it has seen, so nothing is lost in the hand-over. Without Web Locks (an insecure
// origin, an old browser) every tab simply holds its own stream.
//
// Ordering and duplicates (held until the snapshot, then only newer frames, each once) are
// ordering.js's `EventOrder`, which this class feeds with every durable frame it hears.
// Ephemeral frames (typing, presence, receipts: no id, never replayed) bypass it: relayed to
// the other tabs like the others, delivered at once (held or not: no snapshot covers them), and
// never moving the position a stream resumes from.
//
// Reconnects are ours, not the browser's: any stream error closes the EventSource and a new one
// is opened after an exponential backoff with jitter, from the last event id. A `resync` frame
// (the id was too old for the server's log) makes every tab refetch its snapshot.

import { EventOrder } from "./ordering.js";

export const EVENT_TYPES = [
  "message",
  "message_updated",
  "message_deleted",
  "message_reactions",
  "notification",
  "conversation_update",
  "friend_request",
  "friend_update",
  "notification_read",
  "user_updated",
  "settings_updated",
  "block_update",
];

/** Events for open streams only (typing, presence, receipts): never replayed, no `id:`. */
export const EPHEMERAL_EVENT_TYPES = ["typing", "read_receipt", "presence"];

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 10000;
const OFFLINE_AFTER_FAILURES = 4;

export class RealtimeClient {
  /**
   * @param {object} options
   * @param {string} options.scope  the page's user id: names the lock and channel (tabs of one
   *   user), and the stream refuses a session that is someone else's
   * @param {string} [options.url]  the stream endpoint
   */
  constructor({ scope, url = "/api/events" }) {
    this.url = url;
    this.scope = scope;
    this.lockName = `tidings:stream:${scope}`;
    this.channelName = `tidings:events:${scope}`;
    this.handlers = new Map();
    this.role = "starting"; // leader | follower | solo
    this.status = "connecting"; // connecting | connected | reconnecting | offline
    this.order = new EventOrder();
    this.source = null;
    this.failures = 0;
    this.retryTimer = null;
    this.retryNotBefore = 0; // ms, from the server's "overloaded" event
    this.channel = null;
    this.started = false;
  }

  /** Call `handler(data, id)` for every event of `type`; returns an unsubscribe function. */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  /** Start listening (relays from a leader tab are buffered until `resume`). */
  listen() {
    if (typeof BroadcastChannel === "function") {
      this.channel = new BroadcastChannel(this.channelName);
      this.channel.onmessage = (e) => this.#fromChannel(e.data);
    }
  }

  /** Hold deliveries (a snapshot is being fetched); frames are buffered, not dropped. */
  hold() {
    this.order.hold();
  }

  /** Deliver buffered and future events that are newer than the snapshot at `lastEventId`. */
  resume(lastEventId) {
    for (const frame of this.order.resume(lastEventId)) this.#deliver(frame);
    if (!this.started) this.#start();
  }

  /** Tell the other tabs that this user signed out. */
  announceSignOut() {
    this.channel?.postMessage({ kind: "signout" });
  }

  #start() {
    this.started = true;
    if (navigator.locks && this.channel) {
      this.#setRole("follower");
      this.channel.postMessage({ kind: "hello" });
      navigator.locks.request(this.lockName, () => {
        this.#setRole("leader");
        this.#connect();
        // Hold the lock for the life of this document.
        return new Promise(() => {});
      });
    } else {
      this.#setRole("solo");
      this.#connect();
    }
    window.addEventListener("online", () => {
      if (this.#owner() && this.status !== "connected") this.#connect();
    });
    window.addEventListener("offline", () => {
      if (this.#owner()) this.#setStatus("offline");
    });
  }

  #owner() {
    return this.role === "leader" || this.role === "solo";
  }

  #connect() {
    clearTimeout(this.retryTimer);
    this.source?.close();
    const position = this.order.position;
    // The page's user (as api.js's Tidings-User, which an EventSource cannot send): a session
    // that became someone else's is refused (401 session_changed), not streamed to this page.
    const query = new URLSearchParams();
    if (this.scope) query.set("user", this.scope);
    if (position) query.set("last_event_id", position);
    const source = new EventSource(query.size ? `${this.url}?${query}` : this.url);
    this.source = source;
    source.addEventListener("connected", () => {
      this.failures = 0;
      this.#setStatus("connected");
    });
    for (const type of EVENT_TYPES) {
      source.addEventListener(type, (e) => this.#fromStream({ kind: "event", type, id: e.lastEventId, data: e.data }));
    }
    for (const type of EPHEMERAL_EVENT_TYPES) {
      source.addEventListener(type, (e) => this.#fromStream({ kind: "ephemeral", type, data: e.data }));
    }
    source.addEventListener("resync", (e) => this.#fromStream({ kind: "resync", id: e.lastEventId }));
    // The server is shedding load: come back no sooner than it asks.
    source.addEventListener("overloaded", (e) => {
      this.retryNotBefore = Number(JSON.parse(e.data).retry_ms) || 0;
    });
    source.addEventListener("error", () => {
      if (this.source !== source) return;
      const refused = source.readyState === EventSource.CLOSED; // an HTTP error status, e.g. 401
      source.close();
      this.source = null;
      this.#retry(refused);
    });
  }

  async #retry(refused) {
    this.failures += 1;
    const offline = !navigator.onLine || this.failures >= OFFLINE_AFTER_FAILURES;
    this.#setStatus(offline ? "offline" : "reconnecting");
    if (refused && (await this.#signedOut())) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (this.failures - 1));
    const delay = Math.max(ceiling / 2 + Math.random() * (ceiling / 2), this.retryNotBefore);
    this.retryNotBefore = 0;
    this.retryTimer = setTimeout(() => this.#connect(), delay);
  }

  async #signedOut() {
    try {
      const headers = { Accept: "application/json", ...(this.scope ? { "Tidings-User": this.scope } : {}) };
      const response = await fetch("/api/auth/me", { headers });
      if (response.status !== 401) return false;
    } catch {
      return false; // the server is unreachable: keep retrying
    }
    this.announceSignOut();
    this.#dispatch("signout", null, null);
    return true;
  }

  #fromStream(frame) {
    // An event came on our stream: we are connected, whatever an `offline` event said meanwhile
    // (the browser's network flag can be wrong, and then no `online` event follows).
    if (this.status !== "connected" && this.source?.readyState === EventSource.OPEN) this.#setStatus("connected");
    if (this.role === "leader") this.channel.postMessage(frame);
    this.#take(frame);
  }

  #fromChannel(message) {
    switch (message.kind) {
      case "event":
      case "ephemeral":
      case "resync":
        // A tab with a stream of its own hears everything there: relays would be duplicates.
        if (!this.#owner()) this.#take(message);
        break;
      case "status":
        if (!this.#owner()) this.#setStatus(message.status);
        break;
      case "hello":
        if (this.role === "leader") this.channel.postMessage({ kind: "status", status: this.status });
        break;
      case "signout":
        this.#dispatch("signout", null, null);
        break;
    }
  }

  #take(frame) {
    if (frame.kind === "ephemeral") {
      this.#deliver(frame);
      return;
    }
    const accepted = this.order.accept(frame);
    if (accepted) this.#deliver(accepted);
  }

  #deliver(frame) {
    if (frame.kind === "resync") {
      this.#dispatch("resync", null, frame.id);
      return;
    }
    let data;
    try {
      data = JSON.parse(frame.data);
    } catch {
      return;
    }
    this.#dispatch(frame.type, data, frame.id);
  }

  #dispatch(type, data, id) {
    for (const handler of this.handlers.get(type) ?? []) {
      try {
        handler(data, id);
      } catch (error) {
        // One failing handler must not starve the others: rethrown on its own, it reaches the
        // page's error report (errors.js) and the console.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #setRole(role) {
    this.role = role;
    this.#dispatch("role", role, null);
  }

  #setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    if (this.role === "leader") this.channel.postMessage({ kind: "status", status });
    this.#dispatch("status", status, null);
  }
}
