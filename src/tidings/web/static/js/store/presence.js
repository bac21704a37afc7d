// Presence: who is online, away or offline, and when they were last seen. Ephemeral: it comes
// from `GET /api/presence` (on each stream open, and for people newly shown) and from `presence`
// events, never from the snapshot or a replay (ephemeral.js fetches; events.js dispatches).
//
// A fetch and an event can cross: an answer asked for before an event about someone arrives
// after it. Each record keeps the serial number of what set it (`state.presenceSerial` counts
// events); an answer asked for at serial `asOf` leaves alone whoever an event set since.
//
// Offline, the page cannot know anyone's presence: from the stream going offline until it
// connects again (and fetches presence anew), everyone's is "unknown", not "offline".

/** A person's presence as the page shows it: unknown people are offline, never seen. */
const OFFLINE = Object.freeze({ status: "offline", last_seen_at: null });
const UNKNOWN = Object.freeze({ status: "unknown", last_seen_at: null });
export const UNKNOWN_TEXT = "status unknown while you're offline";

/** The stream's status changed (store/connection.js): presence turns unknown when it goes
 * offline, known when it connects again; topic "presence" on a change. */
export function followConnection(state) {
  const { status } = state.connection;
  const unknown = status === "offline" || (state.presenceUnknown && status !== "connected");
  if (unknown === state.presenceUnknown) return [];
  state.presenceUnknown = unknown;
  return ["presence"];
}

/** The fetched presence of several people (`[{user_id, status, last_seen_at}]`), asked for when
 * `state.presenceSerial` was `asOf`; topics "presence:<id>" for each change. */
export function applyPresence(state, entries, asOf) {
  const topics = [];
  for (const entry of entries) {
    const known = state.presence.get(entry.user_id);
    if (known && known.serial > asOf) continue; // an event since the request is newer
    topics.push(...setPresence(state, entry, known?.serial ?? 0));
  }
  return topics;
}

/** The `presence` event: someone's status changed. */
export function receivePresence(state, data) {
  state.presenceSerial += 1;
  return setPresence(state, data, state.presenceSerial);
}

function setPresence(state, { user_id: id, status, last_seen_at: lastSeen }, serial) {
  const known = state.presence.get(id);
  const record = { status, last_seen_at: lastSeen ?? null, serial };
  state.presence.set(id, record);
  if (known && known.status === record.status && known.last_seen_at === record.last_seen_at) return [];
  return [`presence:${id}`];
}

/** `{status, last_seen_at}` of a person (offline if the page does not know them; unknown
 * while the page is offline). */
export function presenceOf(state, id) {
  // A deleted account is gone, whatever was last heard of it (its friends are no longer
  // told of its leaving: the friendship went with the account).
  if (state.users.get(id)?.deleted) return OFFLINE;
  if (state.presenceUnknown) return UNKNOWN;
  return state.presence.get(id) ?? OFFLINE;
}

/** How many of `ids` are online or away (a group's header). */
export function countOnline(state, ids) {
  return ids.filter((id) => ["online", "away"].includes(presenceOf(state, id).status)).length;
}

/** "last seen just now", "… 5 min ago", "… 3 h ago", "… yesterday", "… 12 days ago". */
export function lastSeenText(iso, now) {
  if (!iso) return "offline";
  const minutes = Math.floor((now - Date.parse(iso)) / 60000);
  if (minutes < 1) return "last seen just now";
  if (minutes < 60) return `last seen ${minutes} min ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `last seen ${hours} h ago`;
  const days = Math.floor(hours / 24);
  return days === 1 ? "last seen yesterday" : `last seen ${days} days ago`;
}

/** A person's presence in words: "online", "away", "last seen 5 min ago" (or "offline"), or
 * that it is unknown while we are offline. */
export function presenceText({ status, last_seen_at: lastSeen }, now) {
  if (status === "online" || status === "away") return status;
  if (status === "unknown") return UNKNOWN_TEXT;
  return lastSeenText(lastSeen, now);
}
