// Messages: each conversation's loaded history (its *thread*) and the messages this tab is
// sending.
//
// A thread holds the messages loaded so far (history pages, then `message` events) by id, and
// our pending sends by `client_id`: an id the client makes up for each send and the server
// echoes on the message it stores (in the POST answer, and in the `message` event every tab of
// ours gets). Whichever of the two comes first replaces the pending copy with the message, and
// the other finds it in place, so it shows once; two sends of the same text stay two. A retry
// sends the same client id again (the server answers with the message it stored the first time,
// if it did), and a send whose answer was lost is settled by its event all the same.
//
// Only a conversation opened in this tab has a thread; the sidebar's view of a conversation
// (last message, unread count) is conversations.js's, from the same events.
//
// A thread's history has no holes. History pages are whole runs of messages, and the stream
// brings every message after them in order; `through` is the newest message that came either
// way (a POST answer can come ahead of messages the stream has yet to bring, so it does not
// count). A snapshot (a resync) marks loaded threads `stale`: the stream may have missed
// messages after `staleAfter` (their `through` then). The latest page fetched next joins what
// is loaded if it reaches back to `staleAfter` (or is the whole history); if not, the messages
// before it are dropped, as there would be a hole between them and it, and earlier pages load
// again on scrolling up.

import { putUsers } from "./users.js";

/** The empty thread's maps, shared by every conversation without a thread: they refuse writes
 * (a write goes to a thread made by `ensureThread`). */
class ReadOnlyMap extends Map {
  set() {
    throw new TypeError("The empty thread is read-only: write to a thread from ensureThread");
  }
  delete() {
    return this.set();
  }
  clear() {
    return this.set();
  }
}

function newThread(maps) {
  return {
    messages: maps?.messages ?? new Map(),
    pending: maps?.pending ?? new Map(),
    hasMore: false,
    loading: false,
    loaded: false,
    stale: false,
    staleAfter: 0,
    through: 0,
    error: null,
  };
}

const EMPTY_THREAD = Object.freeze(newThread({ messages: Object.freeze(new ReadOnlyMap()), pending: Object.freeze(new ReadOnlyMap()) }));

/** A message as the store keeps it: its sender by id. */
export function messageRecord(message) {
  return {
    id: message.id,
    conversation_id: message.conversation_id,
    sender_id: message.sender.id,
    content: message.content,
    created_at: message.created_at,
    client_id: message.client_id ?? null,
  };
}

/** What identifies a message on screen, from its pending copy to the message it becomes. */
export function messageKey(message) {
  return message.client_id ? `c:${message.sender_id}:${message.client_id}` : `m:${message.id}`;
}

export const messagesTopic = (conversationId) => `messages:${conversationId}`;

/** The thread of a conversation, to read (an empty, read-only one if it has none). */
export function threadOf(state, conversationId) {
  return state.threads.get(conversationId) ?? EMPTY_THREAD;
}

/** The thread of a conversation, to write: made (and stored) if it has none. */
function ensureThread(state, conversationId) {
  let t = state.threads.get(conversationId);
  if (!t) {
    t = newThread();
    state.threads.set(conversationId, t);
  }
  return t;
}

function sameRecord(a, b) {
  return a.content === b.content && a.sender_id === b.sender_id && a.created_at === b.created_at && a.client_id === b.client_id;
}

/** Put a message in its thread, replacing an older copy of it and our pending copy; true if
 * anything changed. */
function put(state, t, message) {
  const record = messageRecord(message);
  let changed = false;
  const known = t.messages.get(record.id);
  if (!known || !sameRecord(known, record)) {
    t.messages.set(record.id, record);
    changed = true;
  }
  if (record.client_id && record.sender_id === state.meId && t.pending.delete(record.client_id)) changed = true;
  return changed;
}

/** A message (a `message` event, a conversation's last message): into its thread, if loaded. */
export function applyMessage(state, message) {
  const topics = putUsers(state, [message.sender]);
  const t = state.threads.get(message.conversation_id);
  if (!t) return topics;
  t.through = Math.max(t.through, message.id);
  if (put(state, t, message)) topics.push(messagesTopic(message.conversation_id));
  return topics;
}

/**
 * A page of history (`{messages, has_more}`, oldest first): the latest (`older: false`) or the
 * one before the earliest loaded message (`older: true`). `asOf` is how many snapshots the store
 * had applied when the page was asked for: a latest page asked for before the last snapshot
 * cannot say what the stream missed before it, so the thread stays stale (see the top).
 */
export function mergeHistory(state, conversationId, page, { older, asOf = state.snapshots }) {
  const topics = putUsers(state, page.messages.map((m) => m.sender));
  const t = ensureThread(state, conversationId);
  const first = page.messages[0]?.id;
  if (!older && t.loaded && t.stale && page.has_more && first !== undefined && first > t.staleAfter) {
    // A hole between what is loaded and this page: what is before the page goes (what is after
    // it came by the stream since the snapshot, and stays).
    for (const id of t.messages.keys()) if (id < first) t.messages.delete(id);
    t.hasMore = true;
  } else if (older || !t.loaded) {
    t.hasMore = page.has_more;
  }
  for (const message of page.messages) put(state, t, message);
  t.through = Math.max(t.through, page.messages.at(-1)?.id ?? 0);
  t.loaded = true;
  if (!older && asOf >= state.snapshots) t.stale = false;
  t.loading = false;
  t.error = null;
  return [...topics, messagesTopic(conversationId)];
}

/** A snapshot came (after a resync): the stream may have missed messages of this loaded
 * thread since its `through` (see the top). */
export function markStale(thread) {
  if (!thread.stale) thread.staleAfter = thread.through;
  thread.stale = true;
}

export function startLoading(state, conversationId) {
  const t = ensureThread(state, conversationId);
  t.loading = true;
  t.error = null;
  return [messagesTopic(conversationId)];
}

/** A history page failed to load: `text` says so where the history's status shows. */
export function failLoading(state, conversationId, text) {
  const t = ensureThread(state, conversationId);
  t.loading = false;
  t.error = text;
  return [messagesTopic(conversationId)];
}

/** A send of ours, shown at once: `{client_id, conversation_id, sender_id, content, created_at}`. */
export function addPending(state, pending) {
  ensureThread(state, pending.conversation_id).pending.set(pending.client_id, { ...pending, error: null });
  return [messagesTopic(pending.conversation_id)];
}

/** The send's POST answered with `message`: it takes its pending copy's place (see the top). The
 * sidebar waits for the event, which comes in the stream's order (an answer can overtake an
 * earlier message's event). */
export function settlePending(state, conversationId, clientId, message) {
  const topics = putUsers(state, [message.sender]);
  const t = ensureThread(state, conversationId);
  const removed = t.pending.delete(clientId);
  if (put(state, t, message) || removed) topics.push(messagesTopic(conversationId));
  return topics;
}

/** The send failed with `reason` (unless its message came in meanwhile). */
export function failPending(state, conversationId, clientId, reason) {
  const pending = state.threads.get(conversationId)?.pending.get(clientId);
  if (!pending) return [];
  pending.error = reason;
  return [messagesTopic(conversationId)];
}

/** The send is tried again, under the same client id. */
export function retryPending(state, conversationId, clientId) {
  const pending = state.threads.get(conversationId)?.pending.get(clientId);
  if (!pending) return [];
  pending.error = null;
  return [messagesTopic(conversationId)];
}

/** A thread's messages, oldest first. */
export function sortedMessages(state, conversationId) {
  return [...threadOf(state, conversationId).messages.values()].sort((a, b) => a.id - b.id);
}

/** Our pending sends in a conversation, in the order they were made. */
export function pendingMessages(state, conversationId) {
  return [...threadOf(state, conversationId).pending.values()];
}
