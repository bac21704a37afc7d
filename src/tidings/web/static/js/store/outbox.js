// The outbox: our messages on their way, kept (outbox.js) in localStorage per user, so that
// nothing written is lost to a reload, a closed tab or the network going down, and every tab
// of ours shows them. Pure functions of the list of entries, oldest (first written) first.
//
// An entry is a send as the composer made it (`{client_id, conversation_id, sender_id,
// content, created_at, reply_to, attachments}`, the client id being the server's idempotency
// key) with its `status`:
// - "sending": a POST is on its way (from the tab holding the entry's lock: outbox.js);
// - "waiting": written offline, behind another waiting message of its conversation, or sent
//   without getting an answer (a network error, a timeout, 408, 429, 502, 503, 504: the server
//   may or may not have it, and sending it again is safe);
// - "failed": the server refused it (another 4xx, or a 500), `error` saying why; it stays, shown
//   as "Not sent", until Retry (waiting again) or Delete.
// An entry leaves the outbox when an answer says the server has it.
//
// The outbox sends its waiting entries one at a time, in the order written. A new message goes
// at once unless a message of its conversation waits, or is on its way from another tab (or
// was left "sending" by a closed one): then it waits behind it, so a conversation's messages
// arrive in the order written. (A tab sends one message of a conversation at a time, in the
// order written: outbox.js, sendInTurn; one whose turn comes behind a waiting one waits.)
//
// `showOutbox` makes the threads' pending copies (store/messages.js) match the outbox, for the
// conversation view; a copy whose message has come (by the stream, or a history page) is not
// shown again.

import { ensureThread, messagesTopic } from "./messages.js";

const STATUSES = ["sending", "waiting", "failed"];

/** What an entry must have, to be sent (an entry without them is dropped as unreadable). */
function isEntry(entry) {
  return (
    entry !== null &&
    typeof entry === "object" &&
    typeof entry.client_id === "string" &&
    Number.isInteger(entry.conversation_id) &&
    Number.isInteger(entry.sender_id) &&
    typeof entry.content === "string" &&
    typeof entry.created_at === "string" &&
    STATUSES.includes(entry.status) &&
    (entry.reply_to == null || hasId(entry.reply_to)) &&
    (entry.attachments === undefined || (Array.isArray(entry.attachments) && entry.attachments.every(hasId)))
  );
}

/** A reply's quote or an attachment, as the send names it (by its id). */
function hasId(value) {
  return value !== null && typeof value === "object" && Number.isInteger(value.id);
}

/** The entries in `text` (localStorage's copy; null when there is none). */
export function parseOutbox(text) {
  if (!text) return [];
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return [];
  }
  if (!Array.isArray(value)) return [];
  return value.filter(isEntry).map((entry) => ({
    ...entry,
    reply_to: entry.reply_to ?? null,
    attachments: Array.isArray(entry.attachments) ? entry.attachments : [],
    error: entry.status === "failed" ? String(entry.error ?? "") : null,
  }));
}

export function serializeOutbox(entries) {
  return JSON.stringify(entries);
}

/** A new entry for the send `pending`: waiting if `offline`, or if a message of its
 * conversation is waiting, or on its way from another tab (or left "sending" by a closed one:
 * `isSendingHere(clientId)` says whether this tab sends it); else sending (see the top). */
export function newEntry(entries, pending, { offline, isSendingHere = () => false }) {
  const behind = entries.some((e) => e.conversation_id === pending.conversation_id && blocks(e, isSendingHere));
  return { ...pending, status: offline || behind ? "waiting" : "sending", error: null };
}

/** Whether `entry`, written before another of its conversation, must go first: it waits, or is
 * on its way from elsewhere than this tab (a refused one waits for Retry, and holds nothing). */
function blocks(entry, isSendingHere) {
  return entry.status === "waiting" || (entry.status === "sending" && !isSendingHere(entry.client_id));
}

/** Whether a message of `entry`'s conversation written before it waits or is on its way (then
 * `entry` waits behind it: see the top). */
export function waitsBehind(entries, entry) {
  for (const e of entries) {
    if (e.client_id === entry.client_id) return false;
    if (e.conversation_id === entry.conversation_id && blocks(e, () => false)) return true;
  }
  return false;
}

/** `entries` with `entry` added last (or in its own place, if it is there). */
export function withEntry(entries, entry) {
  const at = entries.findIndex((e) => e.client_id === entry.client_id);
  if (at < 0) return [...entries, entry];
  return entries.map((e, i) => (i === at ? entry : e));
}

/** `entries` with the entry `clientId` in `status` (`error`: why it failed). */
export function withStatus(entries, clientId, status, error = null) {
  return entries.map((e) => (e.client_id === clientId ? { ...e, status, error: status === "failed" ? error : null } : e));
}

export function without(entries, clientId) {
  return entries.filter((e) => e.client_id !== clientId);
}

/** The entries of conversations in `keep` (a set of ids) only. */
export function onlyIn(entries, keep) {
  return entries.filter((e) => keep.has(e.conversation_id));
}

/**
 * The entry to send next: the first one that waits, or that is "sending" while nobody sends it
 * (`isSending(clientId)` false: the tab that was is gone, reloaded or closed mid-send), and
 * that has no message of its conversation on its way before it (so each conversation's go in
 * the order written). Failed entries wait for Retry.
 */
export function nextToSend(entries, isSending) {
  const busy = new Set(); // conversations with a message on its way
  for (const e of entries) {
    if (e.status === "sending" && isSending(e.client_id)) busy.add(e.conversation_id);
    else if ((e.status === "waiting" || e.status === "sending") && !busy.has(e.conversation_id)) return e;
  }
  return null;
}

/**
 * What a failed send means for its entry, from the error its POST rejected with (api.js):
 * "lost" (no answer: keep it and send it again later), "signed-out" (401: keep it for when
 * we are back) or "refused" (the server said no: failed).
 */
export function outcomeOf(error) {
  if (error?.name === "TimeoutError" || error?.name === "AbortError") return "lost";
  const status = error?.status;
  if (typeof status !== "number") return "refused"; // a bug, not an answer: say so on the message
  if (status === 0 || status === 408 || status === 429 || status === 502 || status === 503 || status === 504) return "lost";
  if (status === 401) return "signed-out";
  return "refused";
}

/** Whether our message `clientId` is among the thread's messages (it came: by the stream, in a
 * history page, or in the answer to another tab's send). */
function delivered(state, thread, clientId) {
  for (const m of thread.messages.values()) if (m.client_id === clientId && m.sender_id === state.meId) return true;
  return false;
}

function pendingRecord(entry) {
  const { status, ...send } = entry;
  return { ...send, waiting: status === "waiting", error: status === "failed" ? entry.error || "the server refused it" : null };
}

function samePending(a, b) {
  return a.waiting === b.waiting && a.error === b.error && a.content === b.content;
}

/**
 * Make the pending copies of our sends match `entries` (the outbox): each entry of a known
 * conversation shown (as sending, waiting or failed) unless its message came; copies no longer
 * in the outbox go (sent: their message is shown, or comes with its event; or deleted).
 */
export function showOutbox(state, entries) {
  const topics = new Set();
  const byId = new Map(entries.map((e) => [e.client_id, e]));
  for (const [conversationId, thread] of state.threads) {
    for (const clientId of [...thread.pending.keys()]) {
      if (byId.has(clientId)) continue;
      thread.pending.delete(clientId);
      topics.add(messagesTopic(conversationId));
    }
  }
  for (const entry of entries) {
    if (entry.sender_id !== state.meId || !state.conversations.has(entry.conversation_id)) continue;
    const known = state.threads.get(entry.conversation_id);
    if (known && delivered(state, known, entry.client_id)) continue;
    const thread = known ?? ensureThread(state, entry.conversation_id);
    const record = pendingRecord(entry);
    const shown = thread.pending.get(entry.client_id);
    if (shown && samePending(shown, record)) continue;
    thread.pending.set(entry.client_id, record);
    topics.add(messagesTopic(entry.conversation_id));
  }
  return [...topics];
}
