// Notifications: the stored ones (friend requests, accepted requests, added to a group), kept as
// `{id, type, actor_id, conversation_id, message_id, friend_request_id, read, created_at}`,
// and the server's count of unread ones. They follow `notification` and `notification_read`
// events, so every tab agrees.
//
// The bell counts unread stored notifications plus one per conversation with unread messages;
// those are derived from conversations.js, not stored.

import { unreadConversations } from "./conversations.js";
import { putUsers } from "./users.js";

export function notificationRecord(n) {
  return {
    id: n.id,
    type: n.type,
    actor_id: n.actor.id,
    conversation_id: n.conversation_id,
    message_id: n.message_id,
    friend_request_id: n.friend_request_id,
    read: n.read,
    created_at: n.created_at,
  };
}

/** The `notification` event: a new notification and our new unread count. */
export function receiveNotification(state, { notification, unread_count: unreadCount }) {
  const topics = putUsers(state, [notification.actor]);
  if (!state.notifications.has(notification.id)) {
    state.notifications.set(notification.id, notificationRecord(notification));
  }
  state.unreadCount = unreadCount;
  return [...topics, "notifications"];
}

/** The `notification_read` event (`notification_ids` null: all of them). */
export function receiveNotificationsRead(state, { notification_ids: ids, unread_count: unreadCount }) {
  for (const n of state.notifications.values()) {
    if (ids === null || ids.includes(n.id)) {
      n.read = true;
      state.markingRead.delete(n.id); // the server's word now
    }
  }
  state.unreadCount = unreadCount;
  return ["notifications"];
}

/** Shown read at once when asked (until the server says so, `markingRead` has it); the
 * `notification_read` event that follows brings the count. */
export function markNotificationRead(state, id) {
  const n = state.notifications.get(id);
  if (!n || n.read) return [];
  n.read = true;
  state.markingRead.add(id);
  return ["notifications"];
}

/** Asking failed: unread again, unless the server has said meanwhile that it is read. */
export function unmarkNotificationRead(state, id) {
  if (!state.markingRead.delete(id)) return [];
  const n = state.notifications.get(id);
  if (!n) return [];
  n.read = false;
  return ["notifications"];
}

/** Newest first. */
export function sortedNotifications(state) {
  return [...state.notifications.values()].sort((a, b) => b.id - a.id);
}

/** The bell's count: unread stored notifications plus conversations with unread messages
 * (muted ones left out). */
export function bellCount(state, now = Date.now()) {
  return state.unreadCount + unreadConversations(state, now).length;
}
