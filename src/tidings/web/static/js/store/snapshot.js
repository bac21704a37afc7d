// The snapshot (`/api/bootstrap`): the whole state at one stream position, which replaces what
// the store had (people are merged: loaded threads still name them).

import { conversationRecord } from "./conversations.js";
import { markStale, usersOfMessage } from "./messages.js";
import { notificationRecord } from "./notifications.js";
import { requestRecord } from "./friends.js";
import { putUsers } from "./users.js";

export function applySnapshot(state, snapshot) {
  const { conversations, notifications, friends, friend_requests: requests } = snapshot;
  putUsers(state, [
    snapshot.user,
    ...friends,
    ...conversations.flatMap((c) => [...c.members, ...(c.last_message ? usersOfMessage(c.last_message) : [])]),
    ...notifications.map((n) => n.actor),
    ...requests.incoming.flatMap((r) => [r.requester, r.addressee]),
    ...requests.outgoing.flatMap((r) => [r.requester, r.addressee]),
  ]);
  state.meId = snapshot.user.id;
  state.conversations = new Map(conversations.map((c) => [c.id, conversationRecord(c, null)]));
  state.missingConversations.clear();
  state.notifications = new Map(notifications.map((n) => [n.id, notificationRecord(n)]));
  state.markingRead.clear();
  state.unreadCount = snapshot.notifications_unread_count;
  state.friendIds = new Set(friends.map((f) => f.id));
  state.incoming = new Map(requests.incoming.map((r) => [r.id, requestRecord(r)]));
  state.outgoing = new Map(requests.outgoing.map((r) => [r.id, requestRecord(r)]));
  state.snapshots += 1;
  // Loaded histories may have missed messages while the stream was away: they are fetched again.
  for (const [id, thread] of state.threads) {
    if (!state.conversations.has(id)) state.threads.delete(id);
    else markStale(thread);
  }
  return ["session", "users", "conversations", "missing", "notifications", "friends", "resynced"];
}
