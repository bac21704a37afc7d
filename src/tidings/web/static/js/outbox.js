// The outbox at work (its entries and rules: store/outbox.js): every message we send is written
// to localStorage (`tidings:outbox:<user id>`) before its POST, so a reload, a closed tab or a
// network outage loses nothing, and leaves it when an answer says the server has it. Sent again
// it is harmless: the server stores one message per client id and answers a repeat with it.
//
// Tabs. The tabs of one user share the outbox: each shows its entries (a `storage` event tells
// the others of every change) and any may send, but with Web Locks only one at a time sends an
// entry: the tab sending an entry holds `tidings:send:<client id>` (so an entry left "sending"
// by a tab that is gone is seen to be nobody's), and the waiting entries are sent by one tab
// at a time, holding `tidings:outbox:<user id>`, one by one in the order written. A tab that
// sees another's entry "sending" waits for its lock: granted while the entry is still
// "sending", its tab went away mid-send (closed, crashed) and this one sends it. The POST is
// `keepalive`, so one under way when its tab closes still arrives. Without Web Locks (an
// insecure origin) two tabs may send one entry twice: the server keeps one.
//
// When. A new message is sent at once, unless the browser is offline or a message of its
// conversation waits; a tab sends one message of a conversation at a time, in the order
// written (sendInTurn: so none overtakes another whose answer was lost). Waiting entries are
// sent when the browser comes online, when the stream connects again (the server is back),
// after a failure with a growing delay (1 s doubling to 30 s), and when a page opens.

import { api, ApiError } from "./api.js";
import { reportError } from "./errors.js";
import { state, update, watch } from "./store.js";
import { settlePending } from "./store/messages.js";
import {
  nextToSend,
  newEntry,
  onlyIn,
  outcomeOf,
  parseOutbox,
  serializeOutbox,
  showOutbox,
  waitsBehind,
  withEntry,
  without,
  withStatus,
} from "./store/outbox.js";

const SEND_TIMEOUT_MS = 30000;
const RETRY_FIRST_MS = 1000;
const RETRY_MAX_MS = 30000;
const BLOCK_CODES = new Set(["blocked", "you_blocked"]);

let userId = null;
let memory = []; // the entries, also when localStorage cannot keep them (private modes, quota)
let stored = true; // whether localStorage holds the entries (else only `memory` does)
let failures = 0;
let retryTimer = null;
const sendingHere = new Set(); // client ids this tab is sending now (or holds for their turn)
const underWay = new Map(); // conversation id → this tab's last send in it (see sendInTurn)
const awaitingOthers = new Set(); // client ids another tab is sending, whose lock we wait for

export const outboxKey = (id) => `tidings:outbox:${id}`;

/** Start the outbox of user `id`: show its entries and send what waits. */
export function startOutbox(id) {
  userId = id;
  window.addEventListener("storage", (event) => {
    if (event.key !== outboxKey(userId)) return;
    const entries = read();
    update(showOutbox, entries);
    awaitOthersSends(entries);
    // One that waited behind another tab's send may go now (that tab may be gone).
    if (entries.some((e) => e.status === "waiting")) flushSoon();
  });
  window.addEventListener("online", () => flushOutbox());
  // After every snapshot: the threads it dropped lose their pending copies, and a conversation
  // we are no longer in cannot take our messages (they go).
  watch("resynced", () => {
    if (state.snapshots > 0) change((entries) => onlyIn(entries, new Set(state.conversations.keys())));
  });
  const entries = read();
  update(showOutbox, entries);
  flushOutbox();
  awaitOthersSends(entries);
}

/** Show the outbox again (the store has conversations to show it in). */
export function showOutboxAgain() {
  if (userId !== null) update(showOutbox, read());
}

/** Whether messages of ours wait to be sent (or are being sent). */
export function outboxHolds() {
  return userId !== null && read().length > 0;
}

function read() {
  if (!stored) return memory;
  try {
    return parseOutbox(localStorage.getItem(outboxKey(userId)));
  } catch {
    stored = false;
    return memory;
  }
}

/** Change the entries (`fn(entries)` returns the new list): kept, and shown. */
function change(fn) {
  const before = read();
  const entries = fn(before);
  const text = serializeOutbox(entries);
  if (text !== serializeOutbox(before)) {
    memory = entries;
    try {
      localStorage.setItem(outboxKey(userId), text);
      stored = true;
    } catch {
      stored = false; // Storage full or refused: the entries live in this page only.
    }
  }
  update(showOutbox, entries);
  return entries;
}

/** Send `pending` (a send as actions.js makes it): into the outbox, then to the server. */
export function queueMessage(pending) {
  const entry = newEntry(read(), pending, { offline: offline(), isSendingHere: (clientId) => sendingHere.has(clientId) });
  // Its lock is asked for before it is kept "sending", so another tab's wait comes after ours.
  if (entry.status === "sending") sendInTurn(entry);
  change((entries) => withEntry(entries, entry));
  if (entry.status !== "sending") flushSoon();
}

/** Try a failed message again (Retry): it waits its turn, under its client id. */
export function retryQueued(clientId) {
  change((entries) => withStatus(entries, clientId, "waiting"));
  failures = 0;
  flushOutbox();
}

/** Give up a failed message (Delete): it leaves the outbox and the conversation. */
export function discardQueued(clientId) {
  change((entries) => without(entries, clientId));
}

/** Whether we are offline: the browser says it has no network, and the stream does not say
 * otherwise (a connected stream shows the server can be reached, whatever `navigator.onLine`
 * says: it is known to be wrong at times, and then no `online` event comes; realtime.js
 * takes any event on the stream to mean connected). Offline, nothing is sent but a probe every
 * RETRY_MAX_MS, in case the browser is wrong and the stream quiet. */
function offline() {
  return navigator.onLine === false && state.connection.status !== "connected";
}

function flushSoon() {
  if (retryTimer === null) flushOutbox();
}

/** Send the waiting entries, one at a time in the order written, until one gets no answer
 * (offline, only as a `probe`: see offline()). */
export async function flushOutbox({ probe = false } = {}) {
  if (userId === null) return;
  if (offline() && !probe) {
    retryTimer ??= setTimeout(() => {
      retryTimer = null;
      flushOutbox({ probe: true });
    }, RETRY_MAX_MS);
    return;
  }
  clearTimeout(retryTimer);
  retryTimer = null;
  await withLock(`tidings:outbox:${userId}`, {}, async () => {
    for (;;) {
      const held = await heldLocks();
      const next = nextToSend(read(), (clientId) => sendingHere.has(clientId) || held.has(sendLock(clientId)));
      if (!next) return;
      const outcome = await sendInTurn(next);
      if (outcome === "lost" || outcome === "signed-out" || outcome === "busy" || outcome === "behind") return;
    }
  });
}

const sendLock = (clientId) => `tidings:send:${clientId}`;

/** Wait for the lock of each entry another tab is sending (once per entry): when it is ours,
 * that send is over, and an entry still "sending" was left by a tab that went away. */
function awaitOthersSends(entries) {
  if (!navigator.locks) return;
  for (const { client_id: clientId, status } of entries) {
    if (status !== "sending" || sendingHere.has(clientId) || awaitingOthers.has(clientId)) continue;
    awaitingOthers.add(clientId);
    navigator.locks
      .request(sendLock(clientId), () => {})
      .then(() => {
        if (read().some((e) => e.client_id === clientId && e.status === "sending")) flushOutbox();
      })
      .finally(() => awaitingOthers.delete(clientId));
  }
}

/**
 * Send `entry` from this tab once this tab's sends in its conversation are over, so that a
 * conversation's messages reach the server in the order written: two POSTs at once may be
 * stored in either order, and a later message sent while an earlier one's answer is lost would
 * overtake it when that one is sent again. Resolves to what became of it.
 */
function sendInTurn(entry) {
  const conversationId = entry.conversation_id;
  const turn = send(entry, underWay.get(conversationId)).then((outcome) => {
    if (underWay.get(conversationId) === turn) underWay.delete(conversationId);
    // Messages that waited behind it (written in another tab, or left by a closed one) go now.
    if (outcome === "sent" && read().some((e) => e.status === "waiting")) flushSoon();
    return outcome;
  });
  underWay.set(conversationId, turn);
  return turn;
}

/** POST one entry after `before` (a send of its conversation), holding the entry's lock. */
async function send(entry, before) {
  const clientId = entry.client_id;
  sendingHere.add(clientId);
  let outcome;
  try {
    outcome = await withLock(sendLock(clientId), { ifAvailable: true }, async (lock) => {
      if (lock === null) return "busy"; // another tab sends it
      await before?.catch(() => {});
      const entries = read();
      const current = entries.find((e) => e.client_id === clientId);
      if (!current || current.status === "failed") return "gone";
      if (waitsBehind(entries, current)) {
        // A message written before it got no answer, or is another tab's (or was left by a
        // closed one): this one waits, and the flush sends them in the order written.
        change((list) => withStatus(list, clientId, "waiting"));
        flushSoon();
        return "behind";
      }
      if (current.status !== "sending") change((list) => withStatus(list, clientId, "sending"));
      return await post(current);
    });
  } finally {
    sendingHere.delete(clientId);
  }
  // Another tab holds it: if that tab goes away mid-send, this one takes it over.
  if (outcome === "busy") awaitOthersSends(read());
  return outcome;
}

async function post(entry) {
  const { conversation_id: id, client_id: clientId, content, reply_to: replyTo, attachments } = entry;
  const body = { content, client_id: clientId };
  if (replyTo) body.reply_to_id = replyTo.id;
  if (attachments.length) body.attachment_ids = attachments.map((a) => a.id);
  try {
    const { message } = await api("POST", `/api/conversations/${id}/messages`, body, {
      signal: AbortSignal.timeout(SEND_TIMEOUT_MS),
      keepalive: true, // goes on if this tab closes (a message is far below keepalive's 64 kB)
    });
    update(settlePending, id, clientId, message);
    change((entries) => without(entries, clientId));
    failures = 0;
    return "sent";
  } catch (error) {
    const outcome = outcomeOf(error);
    if (outcome === "refused") {
      reportError("Couldn't send a message", error, (reason) => change((entries) => withStatus(entries, clientId, "failed", reason)));
      // A block (either way) refuses every send: the composer says so too (views/conversation.js).
      if (error instanceof ApiError && BLOCK_CODES.has(error.code)) {
        document.dispatchEvent(new CustomEvent("tidings:send-refused", { detail: { conversationId: id, reason: error.message, code: error.code } }));
      }
      return outcome;
    }
    change((entries) => withStatus(entries, clientId, "waiting"));
    if (outcome === "signed-out") reportError("Couldn't send a message", error); // to sign in; it waits for us
    else retryLater();
    return outcome;
  }
}

function retryLater() {
  failures += 1;
  clearTimeout(retryTimer);
  const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (failures - 1));
  retryTimer = setTimeout(() => {
    retryTimer = null;
    flushOutbox({ probe: true }); // (also offline: the `online` event may never come)
  }, delay);
}

/** Run `fn` holding the Web Lock `name` (`fn(null)` if `ifAvailable` and it is taken); without
 * Web Locks, run it next (as a granted lock would, after the caller's synchronous work). */
function withLock(name, options, fn) {
  if (!navigator.locks) return Promise.resolve({ name }).then(fn);
  return navigator.locks.request(name, options, fn);
}

async function heldLocks() {
  if (!navigator.locks?.query) return new Set();
  const { held = [] } = await navigator.locks.query();
  return new Set(held.map((lock) => lock.name));
}
