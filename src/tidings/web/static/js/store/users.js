// People: the one map of users every other slice refers to by id. Server payloads embed user
// objects; each reducer puts them here on the way in (`putUsers`) and keeps only the id. Views
// draw names and avatars from here by id, so a `user_updated` event (a new display name or
// avatar, or an account deleted) changes them everywhere at once through the "users" topic.
// Users carry no version: a read answered after a change's event but made before it (a history
// page, a search) can bring back the earlier name until the next change or snapshot.
// `bot` marks a bot account (views/badge.js draws "BOT" beside its name); it never changes
// while the account lives, and a deleted bot shows as any deleted account (false).
//
// Reducers in store/*.js take the state and a payload, change only that state (no DOM, no
// network, no clock) and return the topics they changed (store.js tells whoever watches them).

const UNKNOWN = Object.freeze({ id: 0, username: "unknown", display_name: "Unknown", avatar_url: null, deleted: false, bot: false });

/** A user as the store keeps it; a field a payload leaves out keeps what `known` had. */
function userRecord(user, known) {
  return {
    id: user.id,
    username: user.username,
    display_name: user.display_name,
    avatar_url: "avatar_url" in user ? (user.avatar_url ?? null) : (known?.avatar_url ?? null),
    deleted: "deleted" in user ? Boolean(user.deleted) : (known?.deleted ?? false),
    bot: "bot" in user ? Boolean(user.bot) : (known?.bot ?? false),
  };
}

function sameUser(a, b) {
  return a.username === b.username && a.display_name === b.display_name && a.avatar_url === b.avatar_url && a.deleted === b.deleted && a.bot === b.bot;
}

/** Put (or refresh) each user; the "users" topic when anyone is new or changed. A changed user
 * gets a new record (views compare records to know what to redraw). */
export function putUsers(state, users) {
  let changed = false;
  for (const user of users) {
    if (!user) continue;
    const known = state.users.get(user.id);
    const record = userRecord(user, known);
    if (known && sameUser(known, record)) continue;
    state.users.set(user.id, record);
    changed = true;
  }
  return changed ? ["users"] : [];
}

/** The `user_updated` event: someone we show (ourselves, a friend, a member of a conversation
 * of ours) changed their name or avatar, or deleted their account. A deleted account's
 * friendship and pending requests are gone with it. */
export function receiveUserUpdated(state, { user }) {
  const topics = putUsers(state, [user]);
  if (!user.deleted) return topics;
  let friendsChanged = state.friendIds.delete(user.id);
  for (const requests of [state.incoming, state.outgoing]) {
    for (const [id, r] of requests) {
      if (r.requester_id === user.id || r.addressee_id === user.id) {
        requests.delete(id);
        friendsChanged = true;
      }
    }
  }
  return friendsChanged ? [...topics, "friends"] : topics;
}

/** The user with this id (a placeholder if the store never saw them, which should not happen). */
export function userById(state, id) {
  return state.users.get(id) ?? { ...UNKNOWN, id };
}

export function me(state) {
  return state.meId === null ? null : userById(state, state.meId);
}
