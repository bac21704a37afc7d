// The page's state: a snapshot from /api/bootstrap, kept current by events.
//
// Every apply function is idempotent (keyed by message, notification, request or user id), so
// an event that overlaps the snapshot, or a message seen both in its POST answer and as an
// event, changes nothing the second time.
//
// A conversation's sidebar entry follows its `message` events (one per message, to every member,
// the sender included): the newest message becomes `last_message`, and one from someone else
// newer than both the previous last message and our read position adds one to `unread_count`
// (so a message delivered twice counts once). `conversation_update` events bring the rest:
// members (created, member_added, member_removed: no unread count, keep ours) and our read
// position and unread count (read: no members, keep ours).
//
// The bell counts unread stored notifications (friend requests, accepted, added to a group) plus
// one per conversation with unread messages; those are derived here, not stored.

import { api } from "./api.js";

const listeners = new Map();

/** Call `fn(detail)` when `topic` changes; returns an unsubscribe function. */
export function watch(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

function changed(topic, detail) {
  for (const fn of listeners.get(topic) ?? []) fn(detail);
}

export const state = {
  me: null,
  conversations: new Map(),
  notifications: new Map(),
  unreadCount: 0,
  friends: new Map(),
  incoming: new Map(),
  outgoing: new Map(),
  /** conversation id -> {messages: Map<id, message>, pending: Map<key, pending>, hasMore, loading} */
  threads: new Map(),
};

export function loadSnapshot(snapshot) {
  state.me = snapshot.user;
  state.conversations = new Map(snapshot.conversations.map((c) => [c.id, c]));
  state.notifications = new Map(snapshot.notifications.map((n) => [n.id, n]));
  state.unreadCount = snapshot.notifications_unread_count;
  state.friends = new Map(snapshot.friends.map((f) => [f.id, f]));
  state.incoming = new Map(snapshot.friend_requests.incoming.map((r) => [r.id, r]));
  state.outgoing = new Map(snapshot.friend_requests.outgoing.map((r) => [r.id, r]));
  // Loaded histories may have missed messages while the stream was away: fetch them again.
  for (const [id, thread] of state.threads) {
    if (!state.conversations.has(id)) state.threads.delete(id);
    else thread.stale = true;
  }
  changed("me");
  changed("conversations");
  changed("notifications");
  changed("friends");
  changed("resynced");
}

// Conversations -------------------------------------------------------------------------------

/** Conversations by latest activity, newest first. */
export function sortedConversations() {
  return [...state.conversations.values()].sort(
    (a, b) => activityOf(b) - activityOf(a) || b.id - a.id,
  );
}

function activityOf(conversation) {
  const last = conversation.last_message?.created_at ?? conversation.updated_at;
  return Math.max(Date.parse(last), Date.parse(conversation.updated_at));
}

/** A conversation from an API answer or a `conversation_update`, merged with what we know. */
export function applyConversation(conversation) {
  const known = state.conversations.get(conversation.id);
  if (!conversation.members && !known) {
    // A `read` leaves out the members; without them we cannot show it, so ask.
    fetchConversation(conversation.id);
    return;
  }
  const last = newerMessage(known?.last_message, conversation.last_message);
  state.conversations.set(conversation.id, {
    ...conversation,
    // Null in an event means "unchanged" (members) or "not yours to know" (events to every
    // member leave out the read state): keep ours, or start a new conversation read to the end.
    members: conversation.members ?? known.members,
    unread_count: conversation.unread_count ?? known?.unread_count ?? 0,
    last_read_message_id:
      conversation.last_read_message_id ?? known?.last_read_message_id ?? conversation.last_message?.id ?? 0,
    last_message: last,
    updated_at: laterTime(known?.updated_at, conversation.updated_at),
  });
  if (conversation.last_message) applyMessage(conversation.last_message);
  changed("conversations");
}

/** A `message` event's effect on its conversation's sidebar entry (see the top of this file). */
export function applyConversationMessage(message) {
  const conversation = state.conversations.get(message.conversation_id);
  if (!conversation) {
    fetchConversation(message.conversation_id);
    return;
  }
  const previous = conversation.last_message?.id ?? 0;
  if (message.id <= previous) return; // delivered before, or older than what we have
  conversation.last_message = message;
  conversation.updated_at = laterTime(conversation.updated_at, message.created_at);
  if (message.sender.id !== state.me.id && message.id > conversation.last_read_message_id) {
    conversation.unread_count += 1;
  }
  changed("conversations");
}

function newerMessage(a, b) {
  if (!a) return b ?? null;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}

function laterTime(a, b) {
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

async function fetchConversation(id) {
  try {
    applyConversation(await api("GET", `/api/conversations/${id}`));
  } catch {
    // Gone, or offline: the next bootstrap (on reconnect or resync) settles it.
  }
}

export function removeConversation(id) {
  state.conversations.delete(id);
  state.threads.delete(id);
  changed("conversations");
}

export function conversationTitle(conversation) {
  if (conversation.type === "group") return conversation.name || "Group";
  const other = conversation.members.find((m) => m.id !== state.me.id);
  return other ? other.display_name : "Just you";
}

export function otherMember(conversation) {
  return conversation.members.find((m) => m.id !== state.me.id) ?? state.me;
}

export function directWith(userId) {
  for (const c of state.conversations.values()) {
    if (c.type === "direct" && c.members.some((m) => m.id === userId)) return c;
  }
  return null;
}

// Messages ------------------------------------------------------------------------------------

export function thread(conversationId) {
  let t = state.threads.get(conversationId);
  if (!t) {
    t = { messages: new Map(), pending: new Map(), hasMore: false, loading: false, loaded: false, stale: false };
    state.threads.set(conversationId, t);
  }
  return t;
}

/** A `message` event: add it to its conversation's loaded history (ignored if not loaded).
 *
 * Our own messages come back as events too (to every tab of ours). One whose POST answered
 * first is in the history already, under the id that answer gave: nothing to do. One announced
 * before its POST answered replaces its pending copy, matched by content (the id is not known
 * yet); the answer then finds the message in place (`settlePending`). */
export function applyMessage(message) {
  const t = state.threads.get(message.conversation_id);
  if (!t || t.messages.has(message.id)) return;
  t.messages.set(message.id, message);
  if (message.sender.id === state.me.id) {
    for (const [key, pending] of t.pending) {
      if (pending.content === message.content && !pending.error) {
        t.pending.delete(key);
        break;
      }
    }
  }
  changed("messages", message.conversation_id);
}

export function mergeHistory(conversationId, page, { older }) {
  const t = thread(conversationId);
  for (const m of page.messages) t.messages.set(m.id, m);
  if (older || !t.loaded) t.hasMore = page.has_more;
  t.loaded = true;
  t.stale = false;
  changed("messages", conversationId);
}

export function addPending(conversationId, pending) {
  thread(conversationId).pending.set(pending.key, pending);
  changed("messages", conversationId);
}

/** The POST answered with `message`: it takes its pending copy's place, under its id, so its
 * event (before or after) cannot show it twice. The sidebar waits for the event, which comes
 * in the stream's order (an answer can overtake an earlier message's event). */
export function settlePending(conversationId, key, message) {
  const t = thread(conversationId);
  t.pending.delete(key);
  if (message && !t.messages.has(message.id)) t.messages.set(message.id, message);
  changed("messages", conversationId);
}

export function failPending(conversationId, key, error) {
  const p = thread(conversationId).pending.get(key);
  if (p) p.error = error;
  changed("messages", conversationId);
}

export function sortedMessages(conversationId) {
  const t = state.threads.get(conversationId);
  if (!t) return [];
  return [...t.messages.values()].sort((a, b) => a.id - b.id);
}

// Notifications -------------------------------------------------------------------------------

export function applyNotification(notification, unreadCount) {
  if (!state.notifications.has(notification.id)) state.notifications.set(notification.id, notification);
  state.unreadCount = unreadCount;
  changed("notifications");
}

export function applyNotificationsRead(ids, unreadCount) {
  for (const n of state.notifications.values()) {
    if (ids === null || ids.includes(n.id)) n.read = true;
  }
  state.unreadCount = unreadCount;
  changed("notifications");
}

export function sortedNotifications() {
  return [...state.notifications.values()].sort((a, b) => b.id - a.id);
}

/** Conversations with unread messages, latest message first: the bell's derived entries. */
export function unreadConversations() {
  return [...state.conversations.values()]
    .filter((c) => c.unread_count > 0 && c.last_message)
    .sort((a, b) => Date.parse(b.last_message.created_at) - Date.parse(a.last_message.created_at) || b.last_message.id - a.last_message.id);
}

/** The bell's count: unread stored notifications plus conversations with unread messages. */
export function bellCount() {
  return state.unreadCount + unreadConversations().length;
}

// Friends -------------------------------------------------------------------------------------

export function applyFriendRequest(request) {
  state.incoming.delete(request.id);
  state.outgoing.delete(request.id);
  if (request.status === "pending") {
    (request.addressee.id === state.me.id ? state.incoming : state.outgoing).set(request.id, request);
  }
  changed("friends");
}

export function applyFriendUpdate({ friend, status, request_id: requestId }) {
  if (status === "added") {
    state.friends.set(friend.id, friend);
    for (const requests of [state.incoming, state.outgoing]) {
      for (const [id, r] of requests) {
        if (id === requestId || r.requester.id === friend.id || r.addressee.id === friend.id) {
          requests.delete(id);
        }
      }
    }
  } else {
    state.friends.delete(friend.id);
  }
  changed("friends");
}

export function sortedFriends() {
  return [...state.friends.values()].sort((a, b) => a.display_name.localeCompare(b.display_name));
}
