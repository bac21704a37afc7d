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

import { putUsers } from "./users.js";

const EMPTY_THREAD = Object.freeze({
  messages: new Map(),
  pending: new Map(),
  hasMore: false,
  loading: false,
  loaded: false,
  stale: false,
  error: null,
});

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

/** The thread of a conversation (an empty one, not stored, if it has none). */
export function threadOf(state, conversationId) {
  return state.threads.get(conversationId) ?? EMPTY_THREAD;
}

function ensureThread(state, conversationId) {
  let t = state.threads.get(conversationId);
  if (!t) {
    t = { messages: new Map(), pending: new Map(), hasMore: false, loading: false, loaded: false, stale: false, error: null };
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
  if (t && put(state, t, message)) topics.push(messagesTopic(message.conversation_id));
  return topics;
}

/** A page of history (`{messages, has_more}`), the latest (`older: false`) or an earlier one. */
export function mergeHistory(state, conversationId, page, { older }) {
  const topics = putUsers(state, page.messages.map((m) => m.sender));
  const t = ensureThread(state, conversationId);
  for (const message of page.messages) put(state, t, message);
  if (older || !t.loaded) t.hasMore = page.has_more;
  t.loaded = true;
  t.stale = false;
  t.loading = false;
  t.error = null;
  return [...topics, messagesTopic(conversationId)];
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
  const pending = threadOf(state, conversationId).pending.get(clientId);
  if (!pending) return [];
  pending.error = reason;
  return [messagesTopic(conversationId)];
}

/** The send is tried again, under the same client id. */
export function retryPending(state, conversationId, clientId) {
  const pending = threadOf(state, conversationId).pending.get(clientId);
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
