// Who is typing where: `typing` events (ephemeral, never replayed) put a person in a
// conversation's typists until the event's `expires_in_ms` runs out, an `active: false` event,
// or their `message` arrives. Reducers take the time (`now`, ms) as an argument (no clock in the
// store); ephemeral.js calls `expireTyping` when the next entry runs out.

/** The `typing` event, heard at `now`. */
export function receiveTyping(state, { conversation_id: id, user, active, expires_in_ms: ttl }, now) {
  if (user.id === state.meId) return [];
  let typists = state.typing.get(id);
  if (active) {
    if (!typists) state.typing.set(id, (typists = new Map()));
    const fresh = !typists.has(user.id);
    typists.set(user.id, now + ttl);
    return fresh ? [`typing:${id}`] : [];
  }
  return stopTyping(state, id, user.id);
}

/** Someone's `message` arrived: they are no longer typing there. */
export function stopTypingOnMessage(state, { message }) {
  return stopTyping(state, message.conversation_id, message.sender.id);
}

function stopTyping(state, id, userId) {
  const typists = state.typing.get(id);
  if (!typists?.delete(userId)) return [];
  if (typists.size === 0) state.typing.delete(id);
  return [`typing:${id}`];
}

/** Drop the entries that ran out by `now`. */
export function expireTyping(state, now) {
  const topics = [];
  for (const [id, typists] of state.typing) {
    for (const [userId, until] of typists) {
      if (until <= now) {
        topics.push(...stopTyping(state, id, userId));
      }
    }
  }
  return [...new Set(topics)];
}

/** When the next entry runs out (ms), or null. */
export function nextTypingExpiry(state) {
  let next = null;
  for (const typists of state.typing.values()) {
    for (const until of typists.values()) if (next === null || until < next) next = until;
  }
  return next;
}

/** The ids of who is typing in conversation `id`, in the order they started. */
export function typistsIn(state, id) {
  return [...(state.typing.get(id)?.keys() ?? [])];
}

/** "alice is typing…", "alice and bob are typing…", "several people are typing…" ("" for none). */
export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return "several people are typing…";
}

/**
 * The sending side's throttle: `typing(now)` says whether to send a typing signal now (at most
 * one every `everyMs` while the draft has text), `cleared()` whether to send `{active: false}`
 * (only after a signal was sent), `sent()` forgets (the message ends typing on the other side).
 */
export class TypingThrottle {
  constructor(everyMs = 3000) {
    this.everyMs = everyMs;
    this.lastAt = null; // when the last signal went, null when none is in force
  }

  typing(now) {
    if (this.lastAt !== null && now - this.lastAt < this.everyMs) return false;
    this.lastAt = now;
    return true;
  }

  cleared() {
    const active = this.lastAt !== null;
    this.lastAt = null;
    return active;
  }

  sent() {
    this.lastAt = null;
  }
}
