// Conversations: the sidebar's entries. A conversation is kept as
// `{id, type, name, description, avatar_url, members_can_add, created_by_id, member_ids,
// member_roles, last_message, unread_count, last_read_message_id, updated_at, muted_until,
// blocked}`, its last message
// as messages.js keeps messages (its sender by id); `member_roles` is member id -> "owner" |
// "admin" | "member" (a group's roles; a DM's two members are both "member").
//
// An entry follows its conversation's `message` events (one per message, to every member, the
// sender included): the newest message becomes `last_message`, and one from someone else newer
// than both the previous last message and our read position adds one to `unread_count` (so a
// message delivered twice counts once). `conversation_update` events bring the rest: members
// (created, member_added, member_removed: no unread count, keep ours), a group's settings and
// members (updated, role_changed), our read position and unread count (read: no members, keep
// ours), or that it is gone for us: we left or were removed (removed), or its owner deleted it
// (deleted). A conversation gone while shown is remembered in `departed` (id -> {reason, title}),
// so the view can say why it closed.
//
// Our own message (from any tab or device) reads the conversation up to it: the server marks a
// sender's message read, and sends no `read` event for it. A system line ("Alice added Bob") is
// the last message, never unread; its actor (its sender) has read up to it, as if they had sent
// a message (the server moves their read position too).
//
// A message edited, deleted or reacted to (`message_updated`, `message_deleted`,
// `message_reactions`) that is the last message changes the entry's copy of it, and a reply that
// is the last message shows its quote as the quoted message now is. A deleted message stays the
// last message (shown as deleted); one that was unread (from someone else, after our read
// position, and not deleted before as far as we know) counts one unread message fewer.
//
// `muted_until` is ours (an ISO time; `MUTED_FOREVER`, 9999-12-31, until we unmute; null: not
// muted), brought by our own `muted` and `read` events and by API answers (other events leave
// it out: null there means "not said"); a timed mute ends by itself: `isMuted` compares it with
// the time. A muted conversation still counts unread messages, but gives no bell entry (nor
// sound or system notification: notifier.js). `blocked` (a DM only): one of its two members
// blocks the other; nothing can be sent in it.
//
// An event about a conversation the store does not know (and cannot show: a `read` or a
// `message` has no members) puts its id in `missingConversations`, for loaders.js to fetch, with
// a new serial number each time: a fetch in flight when the id is flagged again may have been
// answered before that event, and is made again (its effect is not kept here meanwhile).

import {
  applyMessage,
  applyMessageChange,
  applyReactions,
  messageRecord,
  messagesTopic,
  quoteOf,
  sameRecord,
  usersOfMessage,
} from "./messages.js";
import { putUsers, userById } from "./users.js";

function missing(state, id) {
  state.missingSerial += 1;
  state.missingConversations.set(id, state.missingSerial);
  return ["missing"];
}

/** Nothing to fetch for this conversation after all (gone, or the fetch failed). */
export function forgetMissing(state, id) {
  return state.missingConversations.delete(id) ? ["missing"] : [];
}

function usersOf(conversation) {
  return [...(conversation.members ?? []), ...(conversation.last_message ? usersOfMessage(conversation.last_message) : [])];
}

/** A conversation from an API answer or a snapshot, merged with what we know (`known`). */
export function conversationRecord(conversation, known) {
  const last = conversation.last_message ? messageRecord(conversation.last_message) : null;
  return {
    id: conversation.id,
    type: conversation.type,
    name: conversation.name,
    // Settings absent from a payload (an older one) keep what we know.
    description: conversation.description ?? known?.description ?? "",
    avatar_url: conversation.avatar_url === undefined ? (known?.avatar_url ?? null) : conversation.avatar_url,
    members_can_add: conversation.members_can_add ?? known?.members_can_add ?? false,
    created_by_id: conversation.created_by_id,
    // Null in an event means "unchanged" (members) or "not yours to know" (events to every
    // member leave out the read state): keep ours, or start a new conversation read to the end.
    // (applyConversation asks for members where nothing is known; none then is no one.)
    member_ids: conversation.members ? conversation.members.map((m) => m.id) : (known?.member_ids ?? []),
    member_roles: conversation.members ? rolesOf(conversation.members) : (known?.member_roles ?? {}),
    unread_count: conversation.unread_count ?? known?.unread_count ?? 0,
    last_read_message_id: conversation.last_read_message_id ?? known?.last_read_message_id ?? last?.id ?? 0,
    last_message: newerMessage(known?.last_message, last),
    updated_at: laterTime(known?.updated_at, conversation.updated_at),
    muted_until: conversation.muted_until === undefined ? (known?.muted_until ?? null) : conversation.muted_until,
    blocked: conversation.blocked ?? known?.blocked ?? false,
  };
}

function rolesOf(members) {
  return Object.fromEntries(members.map((m) => [m.id, m.role ?? "member"]));
}

/** A conversation from an API answer or a `conversation_update`. */
export function applyConversation(state, conversation) {
  const known = state.conversations.get(conversation.id);
  if (!conversation.members && !known) return missing(state, conversation.id);
  state.departed.delete(conversation.id);
  const topics = putUsers(state, usersOf(conversation));
  state.conversations.set(conversation.id, conversationRecord(conversation, known));
  if (state.missingConversations.delete(conversation.id)) topics.push("missing");
  topics.push("conversations");
  if (conversation.last_message) topics.push(...applyMessage(state, conversation.last_message));
  return topics;
}

/** A `message` event's effect on its conversation's entry (see the top of this file). */
export function applyConversationMessage(state, message) {
  const topics = putUsers(state, usersOfMessage(message));
  const conversation = state.conversations.get(message.conversation_id);
  if (!conversation) return [...topics, ...missing(state, message.conversation_id)];
  const previous = conversation.last_message?.id ?? 0;
  if (message.id <= previous) return topics; // delivered before, or older than what we have
  conversation.last_message = messageRecord(message);
  conversation.updated_at = laterTime(conversation.updated_at, message.created_at);
  if (message.system && message.sender.id !== state.meId) return [...topics, "conversations"]; // never unread
  if (message.sender.id === state.meId) {
    // (A system line of yours, "you renamed the group", reads it as your message would.)
    // Sending reads the conversation up to the message sent (see the top).
    if (message.id > conversation.last_read_message_id) {
      conversation.last_read_message_id = message.id;
      conversation.unread_count = 0;
    }
  } else if (message.id > conversation.last_read_message_id && !message.deleted) {
    // (A message replayed after its deletion comes as its placeholder: never unread.)
    conversation.unread_count += 1;
  }
  return [...topics, "conversations"];
}

/** An edit or a deletion's effect on its conversation's entry (see the top of this file). */
function applyConversationChange(state, message, { deleted }) {
  const conversation = state.conversations.get(message.conversation_id);
  if (!conversation) return missing(state, message.conversation_id);
  let changed = false;
  const last = conversation.last_message;
  const thread = state.threads.get(message.conversation_id)?.messages.get(message.id);
  const wasDeleted = Boolean(thread?.deleted || (last?.id === message.id && last.deleted));
  if (deleted && !wasDeleted && message.sender.id !== state.meId && message.id > conversation.last_read_message_id && conversation.unread_count > 0) {
    conversation.unread_count -= 1;
    changed = true;
  }
  if (last?.id === message.id) {
    const record = messageRecord(message);
    if (!sameRecord(record, last) && !(last.deleted && !record.deleted)) {
      conversation.last_message = record;
      changed = true;
    }
  } else if (last?.reply_to?.id === message.id) {
    const quote = quoteOf(messageRecord(message));
    if (!sameRecord(quote, last.reply_to)) {
      conversation.last_message = { ...last, reply_to: quote };
      changed = true;
    }
  }
  return changed ? ["conversations"] : [];
}

/** The `message_updated` event: the message edited, in its entry and its thread. */
export function receiveMessageUpdated(state, { message }) {
  return [...applyConversationChange(state, message, { deleted: false }), ...applyMessageChange(state, message)];
}

/** The `message_deleted` event: the message's placeholder, in its entry and its thread. */
export function receiveMessageDeleted(state, { message }) {
  // The entry first: it asks the thread whether the message was deleted already.
  return [...applyConversationChange(state, message, { deleted: true }), ...applyMessageChange(state, message)];
}

/** The `message_reactions` event: the message's reactions, in its entry and its thread. */
export function receiveMessageReactions(state, data) {
  const topics = applyReactions(state, data);
  const conversation = state.conversations.get(data.conversation_id);
  const last = conversation?.last_message;
  if (last?.id === data.message_id) {
    const reactions = data.reactions.map((r) => ({ emoji: r.emoji, count: r.count, user_ids: [...r.user_ids] }));
    if (!sameRecord(reactions, last.reactions)) {
      conversation.last_message = { ...last, reactions };
      topics.push("conversations");
    }
  }
  return topics;
}

export function removeConversation(state, id) {
  const had = state.conversations.delete(id);
  const hadThread = state.threads.delete(id);
  return [...(had ? ["conversations"] : []), ...(hadThread ? [messagesTopic(id)] : [])];
}

/** The `message` event: the conversation's entry and its thread. */
export function receiveMessage(state, { message }) {
  return [...applyConversationMessage(state, message), ...applyMessage(state, message)];
}

/** The `conversation_update` event (`conversation` null: we are no longer a member, or the
 * group was deleted). */
export function receiveConversationUpdate(state, { conversation, conversation_id: id, reason }) {
  // Our mute comes with our own `muted` and `read` events only (see the top).
  if (conversation && !OWN_REASONS.has(reason)) conversation = { ...conversation, muted_until: undefined };
  if (conversation) return applyConversation(state, conversation);
  const known = state.conversations.get(id);
  if (known) state.departed.set(id, { reason: reason === "deleted" ? "deleted" : "removed", title: conversationTitle(state, known) });
  return removeConversation(state, id);
}

const OWN_REASONS = new Set(["muted", "read"]);

function newerMessage(a, b) {
  if (!a) return b ?? null;
  if (!b) return a;
  return b.id >= a.id ? b : a;
}

function laterTime(a, b) {
  if (!a) return b;
  return Date.parse(b) > Date.parse(a) ? b : a;
}

// Selectors -----------------------------------------------------------------------------------

/** Conversations by latest activity, newest first. */
export function sortedConversations(state) {
  return [...state.conversations.values()].sort((a, b) => activityOf(b) - activityOf(a) || b.id - a.id);
}

function activityOf(conversation) {
  const last = conversation.last_message?.created_at ?? conversation.updated_at;
  return Math.max(Date.parse(last), Date.parse(conversation.updated_at));
}

/** The member a direct conversation is with (ourselves in a conversation with no one else). */
export function otherMember(state, conversation) {
  const id = conversation.member_ids.find((m) => m !== state.meId) ?? state.meId;
  return userById(state, id);
}

/** A member's role in a conversation ("owner" | "admin" | "member"), or null if not a member. */
export function roleOf(conversation, userId) {
  if (!conversation?.member_ids.includes(userId)) return null;
  return conversation.member_roles[userId] ?? "member";
}

export function conversationTitle(state, conversation) {
  if (conversation.type === "group") return conversation.name || "Group";
  const other = conversation.member_ids.find((m) => m !== state.meId);
  return other === undefined ? "Just you" : userById(state, other).display_name;
}

export function directWith(state, userId) {
  for (const c of state.conversations.values()) {
    if (c.type === "direct" && c.member_ids.includes(userId)) return c;
  }
  return null;
}

/** When a mute meaning "until I unmute" ends (the server's `MUTED_FOREVER`). */
export const MUTED_FOREVER = "9999-12-31T00:00:00Z";

/** Whether `conversation` is muted at `now` (ms): a timed mute ends by itself. */
export function isMuted(conversation, now = Date.now()) {
  const until = conversation?.muted_until;
  return Boolean(until) && Date.parse(until) > now;
}

/** Whether a mute is "until I unmute" rather than timed. */
export function mutedForever(conversation) {
  return Boolean(conversation?.muted_until) && Date.parse(conversation.muted_until) >= Date.parse(MUTED_FOREVER);
}

/** The earliest time (ms) after `now` at which a timed mute ends, or null: views redraw then. */
export function nextMuteEnd(state, now = Date.now()) {
  let next = null;
  for (const c of state.conversations.values()) {
    if (!isMuted(c, now) || mutedForever(c)) continue;
    const end = Date.parse(c.muted_until);
    if (next === null || end < next) next = end;
  }
  return next;
}

/** Conversations with unread messages, latest message first: the bell's derived entries (a
 * muted one has none: its mentions come as stored notifications). */
export function unreadConversations(state, now = Date.now()) {
  return [...state.conversations.values()]
    .filter((c) => c.unread_count > 0 && c.last_message && !isMuted(c, now))
    .sort((a, b) => Date.parse(b.last_message.created_at) - Date.parse(a.last_message.created_at) || b.last_message.id - a.last_message.id);
}
