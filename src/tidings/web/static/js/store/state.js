// The shape of the page's state, and nothing else: store.js holds the page's one instance;
// tests make their own. Records refer to people by id (`sender_id`, `actor_id`, `member_ids`,
// `requester_id`, the ids in `friendIds`...): the one copy of each person is in `users`, so a
// changed name or avatar shows everywhere once it is put there.

export function createState() {
  return {
    /** The signed-in user's id (their user is in `users`); null until the first snapshot. */
    meId: null,
    /** user id -> {id, username, display_name, avatar_url, deleted} (see users.js) */
    users: new Map(),
    /** How many snapshots have been applied (a history page asked for before the last one
     * cannot vouch for what the stream missed: see messages.js). */
    snapshots: 0,
    /** The stream, as the realtime client reports it. */
    connection: { status: "connecting", role: "starting" },
    /** conversation id -> conversation (see conversations.js) */
    conversations: new Map(),
    /** id -> serial number of the latest event that named it, for conversations the store does
     * not know: loaders.js fetches them (see conversations.js). */
    missingConversations: new Map(),
    missingSerial: 0,
    /** conversation id -> {reason: "removed" | "deleted", title}, for conversations gone while
     * we had them (see conversations.js): why an open one closed. */
    departed: new Map(),
    /** conversation id -> thread: its loaded messages and our pending sends (see messages.js) */
    threads: new Map(),
    /** notification id -> notification (see notifications.js) */
    notifications: new Map(),
    /** Ids of notifications shown read that the server has not said are (see notifications.js). */
    markingRead: new Set(),
    /** Unread stored notifications, as the server counts them. */
    unreadCount: 0,
    friendIds: new Set(),
    /** friend request id -> request, addressed to us / sent by us (pending only) */
    incoming: new Map(),
    outgoing: new Map(),
    // Ephemeral (never in a snapshot or a replay; fetched again on each stream open):
    /** user id -> {status, last_seen_at, serial} (see presence.js) */
    presence: new Map(),
    presenceSerial: 0,
    /** Whether presence is unknown: from the page going offline until the stream connects
     * again (see presence.js). */
    presenceUnknown: false,
    /** conversation id -> Map user id -> when their typing runs out, ms (see typing.js) */
    typing: new Map(),
    /** conversation id -> Map user id -> last read message id (see receipts.js) */
    receipts: new Map(),
    /** conversation id -> how many receipts a large group's answer listed, when not all (see receipts.js) */
    receiptsListed: new Map(),
    /** Our settings (see settings.js); null until fetched. */
    settings: null,
    /** Ids of the people we block (see settings.js). */
    blockedIds: new Set(),
  };
}
