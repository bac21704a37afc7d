// Read receipts: how far the other members of a conversation have read (conversation id ->
// Map user id -> last read message id). From `GET /api/conversations/{id}/receipts` (the open
// conversation, on opening it and on each stream open) and `read_receipt` events (ephemeral).
// Read positions only move forward, so a late answer and an event merge by taking the larger.

/**
 * The fetched receipts of conversation `id` (`[{user_id, last_read_message_id}]`). `complete`
 * false: a large group, where the server lists only the members furthest ahead (and sends no
 * live receipts): a message all of them have read may have been read by more.
 */
export function applyReceipts(state, id, receipts, complete = true) {
  let changed = false;
  for (const r of receipts) changed = advance(state, id, r.user_id, r.last_read_message_id) || changed;
  const listed = complete ? undefined : receipts.length;
  if (state.receiptsListed.get(id) !== listed) {
    if (listed === undefined) state.receiptsListed.delete(id);
    else state.receiptsListed.set(id, listed);
    changed = true;
  }
  return changed ? [`receipts:${id}`] : [];
}

/** Whether `count` readers of a message of conversation `id` may be only some of them ("Seen by N+"). */
export function mayBeMoreReaders(state, id, count) {
  const listed = state.receiptsListed.get(id);
  return listed !== undefined && count >= listed;
}

/** The `read_receipt` event. */
export function receiveReadReceipt(state, { conversation_id: id, user_id: userId, last_read_message_id: upTo }) {
  return advance(state, id, userId, upTo) ? [`receipts:${id}`] : [];
}

function advance(state, id, userId, upTo) {
  if (userId === state.meId) return false;
  let readers = state.receipts.get(id);
  if (!readers) state.receipts.set(id, (readers = new Map()));
  if ((readers.get(userId) ?? -1) >= upTo) return false;
  readers.set(userId, upTo);
  return true;
}

/** The ids of the members who have read message `messageId` of conversation `id`. */
export function seenBy(state, id, messageId) {
  const readers = state.receipts.get(id);
  if (!readers) return [];
  return [...readers].filter(([userId, upTo]) => upTo >= messageId && userId !== state.meId).map(([userId]) => userId);
}

/**
 * A `message` event: its sender has read up to it (the server moved their read position; no
 * receipt follows). Taken only for someone whose receipts this page already has, i.e. who
 * sends them (the server leaves out those who turned them off).
 */
export function senderHasRead(state, { message }) {
  const readers = state.receipts.get(message.conversation_id);
  if (!readers || !readers.has(message.sender?.id)) return [];
  return advance(state, message.conversation_id, message.sender.id, message.id) ? [`receipts:${message.conversation_id}`] : [];
}
