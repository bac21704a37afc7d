// People: the one map of users every other slice refers to by id. Server payloads embed user
// objects; each reducer puts them here on the way in (`putUsers`) and keeps only the id.
//
// Reducers in store/*.js take the state and a payload, change only that state (no DOM, no
// network, no clock) and return the topics they changed (store.js tells whoever watches them).

const UNKNOWN = Object.freeze({ id: 0, username: "unknown", display_name: "Unknown" });

/** Put (or refresh) each user; the "users" topic when anyone is new or changed. */
export function putUsers(state, users) {
  let changed = false;
  for (const user of users) {
    if (!user) continue;
    const known = state.users.get(user.id);
    if (known && known.username === user.username && known.display_name === user.display_name) continue;
    state.users.set(user.id, { id: user.id, username: user.username, display_name: user.display_name });
    changed = true;
  }
  return changed ? ["users"] : [];
}

/** The user with this id (a placeholder if the store never saw them, which should not happen). */
export function userById(state, id) {
  return state.users.get(id) ?? { ...UNKNOWN, id };
}

export function me(state) {
  return state.meId === null ? null : userById(state, state.meId);
}
