// The copy of the sidebar kept for opening the app offline (offline.js keeps it in localStorage,
// per user, and drops it on sign-out): who we are, our conversations and the people they name,
// so that a page opened with the network down can show its conversations and take messages for
// the outbox. No message is in it: no last message, no unread count, no history (message data
// stays on the server; the service worker keeps none either).

const VERSION = 1;

/** The copy of `state` to keep (from a snapshot: null before the first). */
export function offlineCopy(state) {
  if (state.snapshots === 0 || state.meId === null) return null;
  const conversations = [...state.conversations.values()].map((c) => ({
    ...c,
    last_message: null,
    unread_count: 0,
    last_read_message_id: 0,
  }));
  const ids = new Set([state.meId, ...conversations.flatMap((c) => c.member_ids)]);
  const users = [...ids].map((id) => state.users.get(id)).filter(Boolean);
  return { version: VERSION, me: state.meId, users, conversations };
}

/** The copy in `text` if it is one, of user `userId`; else null. */
export function parseOfflineCopy(text, userId) {
  let copy;
  try {
    copy = JSON.parse(text ?? "null");
  } catch {
    return null;
  }
  if (copy?.version !== VERSION || copy.me !== userId) return null;
  if (!Array.isArray(copy.users) || !Array.isArray(copy.conversations)) return null;
  const valid = (c) => Number.isInteger(c?.id) && Array.isArray(c.member_ids) && typeof c.type === "string";
  return { ...copy, users: copy.users.filter((u) => Number.isInteger(u?.id)), conversations: copy.conversations.filter(valid) };
}

/** Open with the copy, while no snapshot can be fetched (a snapshot replaces it whole). */
export function applyOfflineCopy(state, copy) {
  if (state.snapshots > 0) return [];
  state.meId = copy.me;
  for (const user of copy.users) state.users.set(user.id, user);
  state.conversations = new Map(copy.conversations.map((c) => [c.id, c]));
  return ["session", "users", "conversations"];
}

/** Whether the page shows the offline copy (no snapshot yet): there are no last messages. */
export function showingOfflineCopy(state) {
  return state.snapshots === 0 && state.meId !== null;
}
