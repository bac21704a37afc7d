// Payloads shaped as the server sends them (users embedded), for the store's unit tests.

export const alice = { id: 1, username: "alice", display_name: "Alice Liddell", avatar_url: null, deleted: false, bot: false };
export const bob = { id: 2, username: "bob", display_name: "Bob Marley", avatar_url: null, deleted: false, bot: false };
export const carol = { id: 3, username: "carol", display_name: "Carol King", avatar_url: null, deleted: false, bot: false };

let clock = Date.parse("2026-03-02T10:00:00Z");

/** A message from `sender` (`MessageView`), a second after the previous one. */
export function message(id, sender, content, { conversationId = 10, clientId = null } = {}) {
  clock += 1000;
  return {
    id,
    conversation_id: conversationId,
    sender,
    content,
    created_at: new Date(clock).toISOString(),
    client_id: clientId,
  };
}

/** A conversation (`ConversationView`) between `members`. */
export function conversation(id, members, { type = "direct", name = null, last = null, unread = 0, readUpTo = 0 } = {}) {
  return {
    id,
    type,
    name,
    created_by_id: members[0].id,
    members,
    last_message: last,
    unread_count: unread,
    last_read_message_id: readUpTo,
    updated_at: "2026-03-01T09:00:00Z",
  };
}

/** A snapshot (`/api/bootstrap`) for `user`. */
export function snapshot(user, parts = {}) {
  return {
    user,
    last_event_id: "100",
    conversations: [],
    notifications: [],
    notifications_unread_count: 0,
    friends: [],
    friend_requests: { incoming: [], outgoing: [] },
    ...parts,
  };
}
