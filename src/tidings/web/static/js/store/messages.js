// Messages: each conversation's loaded history (its *thread*) and the messages this tab is
// sending.
//
// A thread holds the messages loaded so far (history pages, then `message` events) by id, and
// our pending sends by `client_id`: an id the client makes up for each send and the server
// echoes on the message it stores (in the POST answer, and in the `message` event every tab of
// ours gets). Whichever of the two comes first replaces the pending copy with the message, and
// the other finds it in place, so it shows once; two sends of the same text stay two. A retry
// sends the same client id again (the server answers with the message it stored the first time,
// if it did), and a send whose answer was lost is settled by its event all the same.
//
// Only a conversation opened in this tab has a thread; the sidebar's view of a conversation
// (last message, unread count) is conversations.js's, from the same events.
//
// A thread's history has no holes. History pages are whole runs of messages, and the stream
// brings every message after them in order; `through` is the newest message that came either
// way (a POST answer can come ahead of messages the stream has yet to bring, so it does not
// count). A snapshot (a resync) marks loaded threads `stale`: the stream may have missed
// messages after `staleAfter` (their `through` then). The latest page fetched next joins what
// is loaded if it reaches back to `staleAfter` (or is the whole history); if not, the messages
// before it are dropped, as there would be a hole between them and it, and earlier pages load
// again on scrolling up.
//
// A thread can also hold a run of history that stops short of the newest message (`gapAfter`,
// its last id): a page around a quoted message or the first unread one, when it does not join
// what is loaded. Messages newer than the run that were loaded before, or that the stream
// brings meanwhile, stay in `messages` but are not shown (`sortedMessages`) until pages asked
// with `after` reach them: the run joins them when a page says there is nothing newer
// (`has_newer` false), as everything after that page's answer came by the stream.
//
// Messages change after they are sent: edited (`message_updated`), deleted (`message_deleted`,
// a placeholder that stays) or reacted to (`message_reactions`). A record is replaced whole, in
// the thread and wherever a reply quotes it (quotes show the message as it now is). A page
// asked for before an edit can answer after its event: an older version of a message (an older
// `edited_at`, or not deleted when the record is) does not replace a newer one.
//
// A group's system lines ("Alice added Bob") are messages with `system` set (its people by id:
// `{action, actor_id, target_id, name, role, members_can_add, removed}`) and no content; they are never
// edited, deleted, reacted to or unread. Their words are made where they are drawn (system.js),
// from the users map, so a rename shows in them too.

import { putUsers } from "./users.js";

/** The empty thread's maps, shared by every conversation without a thread: they refuse writes
 * (a write goes to a thread made by `ensureThread`). */
class ReadOnlyMap extends Map {
  set() {
    throw new TypeError("The empty thread is read-only: write to a thread from ensureThread");
  }
  delete() {
    return this.set();
  }
  clear() {
    return this.set();
  }
}

function newThread(maps) {
  return {
    messages: maps?.messages ?? new Map(),
    pending: maps?.pending ?? new Map(),
    hasMore: false,
    loading: false,
    loaded: false,
    stale: false,
    staleAfter: 0,
    through: 0,
    gapAfter: null,
    error: null,
  };
}

const EMPTY_THREAD = Object.freeze(newThread({ messages: Object.freeze(new ReadOnlyMap()), pending: Object.freeze(new ReadOnlyMap()) }));

/** How many code points of a message a reply's quote shows (the server cuts the same way). */
export const QUOTE_LENGTH = 200;

/** A reply's quote as the store keeps it: its sender by id. */
function quoteRecord(quote) {
  if (!quote) return null;
  return {
    id: quote.id,
    sender_id: quote.sender.id,
    excerpt: quote.excerpt,
    deleted: quote.deleted,
    attachment_count: quote.attachment_count ?? 0,
  };
}

/** A system line's facts (who did what to whom), its people by id; null for a message. */
function systemRecord(system) {
  if (!system) return null;
  return {
    action: system.action,
    actor_id: system.actor?.id ?? null,
    target_id: system.target?.id ?? null,
    name: system.name ?? null,
    role: system.role ?? null,
    members_can_add: system.members_can_add ?? null,
    removed: system.removed ?? null,
  };
}

/** A message as the store keeps it: its sender (and its quote's) by id. */
export function messageRecord(message) {
  return {
    id: message.id,
    conversation_id: message.conversation_id,
    sender_id: message.sender.id,
    content: message.content,
    created_at: message.created_at,
    client_id: message.client_id ?? null,
    reply_to: quoteRecord(message.reply_to),
    edited_at: message.edited_at ?? null,
    deleted: message.deleted ?? false,
    reactions: (message.reactions ?? []).map((r) => ({ emoji: r.emoji, count: r.count, user_ids: [...r.user_ids] })),
    attachments: message.attachments ?? [],
    system: systemRecord(message.system),
  };
}

/** The people a message names (its sender, its quote's sender, a system line's actor and
 * target), for the users map. */
export function usersOfMessage(message) {
  return [message.sender, message.reply_to?.sender, message.system?.actor, message.system?.target];
}

/** The quote a reply shows of `record` (a message record), as that message now is. */
export function quoteOf(record) {
  return {
    id: record.id,
    sender_id: record.sender_id,
    excerpt: record.deleted ? "" : [...record.content].slice(0, QUOTE_LENGTH).join(""),
    deleted: record.deleted,
    attachment_count: record.deleted ? 0 : record.attachments.length,
  };
}

/** What identifies a message on screen, from its pending copy to the message it becomes. */
export function messageKey(message) {
  return message.client_id ? `c:${message.sender_id}:${message.client_id}` : `m:${message.id}`;
}

export const messagesTopic = (conversationId) => `messages:${conversationId}`;

/** The thread of a conversation, to read (an empty, read-only one if it has none). */
export function threadOf(state, conversationId) {
  return state.threads.get(conversationId) ?? EMPTY_THREAD;
}

/** The thread of a conversation, to write: made (and stored) if it has none. */
export function ensureThread(state, conversationId) {
  let t = state.threads.get(conversationId);
  if (!t) {
    t = newThread();
    state.threads.set(conversationId, t);
  }
  return t;
}

export function sameRecord(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Whether `record` is an older version of the message `known` is (see the top). */
function olderVersion(record, known) {
  if (known.deleted !== record.deleted) return known.deleted;
  return Boolean(known.edited_at) && (!record.edited_at || Date.parse(record.edited_at) < Date.parse(known.edited_at));
}

/** Put a message in its thread, replacing an older copy of it and our pending copy; true if
 * anything changed. */
function put(state, t, message) {
  const record = messageRecord(message);
  let changed = false;
  const known = t.messages.get(record.id);
  if (!known || (!sameRecord(known, record) && !olderVersion(record, known))) {
    t.messages.set(record.id, record);
    changed = true;
  }
  if (record.client_id && record.sender_id === state.meId && t.pending.delete(record.client_id)) changed = true;
  return changed;
}

/** A message (a `message` event, a conversation's last message): into its thread, if loaded. */
export function applyMessage(state, message) {
  const topics = putUsers(state, usersOfMessage(message));
  const t = state.threads.get(message.conversation_id);
  if (!t) return topics;
  t.through = Math.max(t.through, message.id);
  if (put(state, t, message)) topics.push(messagesTopic(message.conversation_id));
  return topics;
}

/**
 * A page of history (`{messages, has_more}`, oldest first): the latest (`older: false`) or the
 * one before the earliest loaded message (`older: true`). `asOf` is how many snapshots the store
 * had applied when the page was asked for: a latest page asked for before the last snapshot
 * cannot say what the stream missed before it, so the thread stays stale (see the top). A latest
 * page that does not reach a run stopping short of the newest (`gapAfter`) replaces it too.
 */
export function mergeHistory(state, conversationId, page, { older, asOf = state.snapshots }) {
  const topics = putUsers(state, page.messages.flatMap(usersOfMessage));
  const t = ensureThread(state, conversationId);
  const first = page.messages[0]?.id;
  const hole =
    !older &&
    t.loaded &&
    page.has_more &&
    first !== undefined &&
    ((t.stale && first > t.staleAfter) || (t.gapAfter !== null && first > t.gapAfter));
  if (hole) {
    // A hole between what is loaded and this page: what is before the page goes (what is after
    // it came by the stream since the snapshot, and stays).
    for (const id of t.messages.keys()) if (id < first) t.messages.delete(id);
    t.hasMore = true;
  } else if (older || !t.loaded) {
    t.hasMore = page.has_more;
  }
  for (const message of page.messages) put(state, t, message);
  t.through = Math.max(t.through, page.messages.at(-1)?.id ?? 0);
  if (!older) t.gapAfter = null;
  t.loaded = true;
  if (!older && asOf >= state.snapshots) t.stale = false;
  t.loading = false;
  t.error = null;
  return [...topics, messagesTopic(conversationId)];
}

/**
 * A page around a message (`?around=`) or after one (`?after=`): `{messages, has_more,
 * has_newer}`, oldest first. It joins the shown run where the two overlap (or the page is the
 * start of the history, or reaches the newest message), or when it was asked `after` the end of
 * a run that stops short (and the run still ends there); a page before the run makes the run stop
 * short (`gapAfter`), what was shown staying loaded beyond it; a page after a run that stops short
 * replaces it.
 */
export function mergeRun(state, conversationId, page, { after = null } = {}) {
  const topics = putUsers(state, page.messages.flatMap(usersOfMessage));
  const t = ensureThread(state, conversationId);
  const first = page.messages[0]?.id;
  const last = page.messages.at(-1)?.id;
  t.loading = false;
  t.error = null;
  topics.push(messagesTopic(conversationId));
  if (first === undefined) {
    // Nothing around or after: the run reaches the newest message (or there is no history).
    if (!page.has_newer) t.gapAfter = null;
    if (!t.loaded) t.hasMore = page.has_more;
    t.loaded = true;
    return topics;
  }
  const shown = shownIds(t);
  const runFirst = shown[0];
  const runLast = t.gapAfter ?? Infinity;
  if (after !== null && t.loaded && after === t.gapAfter) {
    // The next page of a run that stops short.
    t.gapAfter = page.has_newer ? last : null;
  } else if (!t.loaded || runFirst === undefined) {
    // Nothing shown yet: the page is the run.
    t.hasMore = page.has_more;
    t.gapAfter = page.has_newer ? last : null;
  } else if (last < runFirst && page.has_newer) {
    // Before the run, not reaching it: the run is this page, what was shown waits beyond it.
    t.hasMore = page.has_more;
    t.gapAfter = last;
  } else if (first > runLast && page.has_more) {
    // After a run that stops short, not reaching it: the run is this page.
    for (const id of t.messages.keys()) if (id < first) t.messages.delete(id);
    t.hasMore = true;
    t.gapAfter = page.has_newer ? last : null;
  } else {
    // The two overlap (or meet at the start or the end of the history).
    if (first <= runFirst) t.hasMore = page.has_more;
    if (t.gapAfter !== null && last >= t.gapAfter) t.gapAfter = page.has_newer ? last : null;
  }
  for (const message of page.messages) put(state, t, message);
  t.through = Math.max(t.through, last);
  t.loaded = true;
  return topics;
}

/** A snapshot came (after a resync): the stream may have missed messages of this loaded
 * thread since its `through` (see the top). */
export function markStale(thread) {
  if (!thread.stale) thread.staleAfter = thread.through;
  thread.stale = true;
}

export function startLoading(state, conversationId) {
  const t = ensureThread(state, conversationId);
  t.loading = true;
  t.error = null;
  return [messagesTopic(conversationId)];
}

/** A history page failed to load: `text` says so where the history's status shows. */
export function failLoading(state, conversationId, text) {
  const t = ensureThread(state, conversationId);
  t.loading = false;
  t.error = text;
  return [messagesTopic(conversationId)];
}

/** The send's POST answered with `message`: it takes its pending copy's place (see the top). The
 * sidebar waits for the event, which comes in the stream's order (an answer can overtake an
 * earlier message's event). */
export function settlePending(state, conversationId, clientId, message) {
  const topics = putUsers(state, usersOfMessage(message));
  const t = ensureThread(state, conversationId);
  const removed = t.pending.delete(clientId);
  if (put(state, t, message) || removed) topics.push(messagesTopic(conversationId));
  return topics;
}

/** The ids of a thread's shown run (up to `gapAfter`, see the top), oldest first. */
function shownIds(t) {
  const ids = [...t.messages.keys()].sort((a, b) => a - b);
  return t.gapAfter === null ? ids : ids.filter((id) => id <= t.gapAfter);
}

/** A thread's shown messages (its run, see the top), oldest first. */
export function sortedMessages(state, conversationId) {
  const t = threadOf(state, conversationId);
  return shownIds(t).map((id) => t.messages.get(id));
}

/** Whether the thread's shown run stops short of the newest message. */
export function hasNewer(state, conversationId) {
  return threadOf(state, conversationId).gapAfter !== null;
}

/** Whether message `id` is in the thread's shown run. */
export function isShown(state, conversationId, id) {
  const t = threadOf(state, conversationId);
  return t.messages.has(id) && (t.gapAfter === null || id <= t.gapAfter);
}

// Changes to sent messages ----------------------------------------------------------------------

/** Replace the quote of every loaded reply to `record` (as it now is) in its thread. */
function requote(t, record) {
  let changed = false;
  const quote = quoteOf(record);
  for (const [id, m] of t.messages) {
    if (m.reply_to?.id !== record.id || sameRecord(m.reply_to, quote)) continue;
    t.messages.set(id, { ...m, reply_to: quote });
    changed = true;
  }
  return changed;
}

/** An edited or deleted message (`message_updated`, `message_deleted`): the message as it now
 * is replaces the loaded one, and the quotes of its loaded replies follow. A message not loaded
 * is not added (it is outside the loaded history). */
export function applyMessageChange(state, message) {
  const topics = putUsers(state, usersOfMessage(message));
  const t = state.threads.get(message.conversation_id);
  if (!t) return topics;
  let changed = t.messages.has(message.id) && put(state, t, message);
  const record = t.messages.get(message.id) ?? messageRecord(message);
  if (requote(t, record)) changed = true;
  if (changed) topics.push(messagesTopic(message.conversation_id));
  return topics;
}

/** A message's reactions as they now are (`message_reactions`, or a reaction's answer). */
export function applyReactions(state, { conversation_id: conversationId, message_id: id, reactions }) {
  const t = state.threads.get(conversationId);
  const known = t?.messages.get(id);
  if (!known) return [];
  const record = { ...known, reactions: reactions.map((r) => ({ emoji: r.emoji, count: r.count, user_ids: [...r.user_ids] })) };
  if (sameRecord(record, known)) return [];
  t.messages.set(id, record);
  return [messagesTopic(conversationId)];
}

/** Our reaction `emoji` to a message, added (`on`) or taken away at once, before the server
 * answers: its answer, or the event, then says what the reactions are. */
export function toggleOwnReaction(state, conversationId, id, emoji, on) {
  const known = state.threads.get(conversationId)?.messages.get(id);
  if (!known) return [];
  const reactions = known.reactions.map((r) => ({ ...r, user_ids: [...r.user_ids] }));
  let group = reactions.find((r) => r.emoji === emoji);
  if (on && !group?.user_ids.includes(state.meId)) {
    if (!group) reactions.push((group = { emoji, count: 0, user_ids: [] }));
    group.user_ids.push(state.meId);
    group.count += 1;
  } else if (!on && group?.user_ids.includes(state.meId)) {
    group.user_ids = group.user_ids.filter((u) => u !== state.meId);
    group.count -= 1;
  } else {
    return [];
  }
  return applyReactions(state, { conversation_id: conversationId, message_id: id, reactions: reactions.filter((r) => r.count > 0) });
}

/** Our pending sends in a conversation, in the order they were made. */
export function pendingMessages(state, conversationId) {
  return [...threadOf(state, conversationId).pending.values()];
}
