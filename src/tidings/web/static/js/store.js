// The page's state: a snapshot from /api/bootstrap, kept current by events.
//
// Every apply function is idempotent (keyed by message, notification, request or user id), so
// an event that overlaps the snapshot, or arrives both as a `message` and inside a
// `conversation_update`, changes nothing the second time.

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

export function applyConversation(conversation) {
  if (!conversation.members) {
    // Events leave out members that did not change; keep the ones we know.
    const known = state.conversations.get(conversation.id);
    if (!known) {
      fetchConversation(conversation.id);
      return;
    }
    conversation = { ...conversation, members: known.members };
  }
  state.conversations.set(conversation.id, conversation);
  if (conversation.last_message) applyMessage(conversation.last_message);
  changed("conversations");
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

/** Add a message to its conversation's loaded history (ignored if that is not loaded). */
export function applyMessage(message) {
  const t = state.threads.get(message.conversation_id);
  if (!t || t.messages.has(message.id)) return;
  t.messages.set(message.id, message);
  if (message.sender.id === state.me.id) {
    // Our own message, announced before its POST answered: it replaces its pending copy.
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
