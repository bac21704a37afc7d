// Getting our attention while no tab of this browser is visible, without the page: which event
// deserves a system notification (and a sound), what it says, and which tab raises it. Pure
// functions over the store's state and plain objects, so tests/js can check them; notifier.js
// does the browser's part (the Notification, the tone, the tabs' BroadcastChannel).
//
// Deserving: a new message from someone else (not a system line, not already read) in a
// conversation that is not muted, and a new unread stored notification (a friend request, an
// acceptance, being added to a group; a mention only in a muted conversation: elsewhere the
// message itself was the alert, and one message gives one alert). An alert is
// `{tag, title, body, conversationId, messageId}`: `tag` is per conversation (or per
// notification), so a burst replaces the last one rather than stacking.
//
// One tab raises it: the one holding the stream (the leader; or, without Web Locks, each tab on
// its own stream, the same tag making the system show one), and only while no tab is visible.
// Every tab tells the others whether it is visible (a `TabBoard` each keeps).
//
// A screen reader also hears a new message in the conversation open in the tab
// (`announcementFor`, said by views/announcer.js), whether or not the tab is visible.

import { attachmentSummary } from "./attachments.js";
import { conversationTitle, isMuted } from "./store/conversations.js";
import { settingsOf } from "./store/settings.js";
import { userById } from "./store/users.js";

const PREVIEW_MAX = 140;

/** The tag of a conversation's system notifications (a newer one replaces the older). */
export function conversationTag(conversationId) {
  return `tidings-c${conversationId}`;
}

function preview(message) {
  const text = (message.content ?? "").replace(/\s+/g, " ").trim();
  const files = message.attachments ?? [];
  const shown = text || (files.length ? attachmentSummary(files) : "");
  return [...shown].length > PREVIEW_MAX ? `${[...shown].slice(0, PREVIEW_MAX - 1).join("")}…` : shown;
}

/** The alert a `message` event deserves (applied to `state` already), or null. */
export function messageAlert(state, message, now = Date.now()) {
  const senderId = message.sender?.id ?? message.sender_id;
  if (senderId === state.meId || message.system || message.deleted) return null;
  const conversation = state.conversations.get(message.conversation_id);
  if (conversation && (isMuted(conversation, now) || message.id <= conversation.last_read_message_id)) return null;
  const sender = (state.users.has(senderId) ? userById(state, senderId) : message.sender)?.display_name ?? "Someone";
  const title = conversation?.type === "group" ? `${sender} in ${conversationTitle(state, conversation)}` : sender;
  return { tag: conversationTag(message.conversation_id), title, body: preview(message), conversationId: message.conversation_id, messageId: message.id };
}

/** The alert a `notification` event deserves, or null. */
export function notificationAlert(state, notification, now = Date.now()) {
  if (notification.read) return null;
  const actorId = notification.actor?.id ?? notification.actor_id;
  const actor = (state.users.has(actorId) ? userById(state, actorId) : notification.actor)?.display_name ?? "Someone";
  const conversation = notification.conversation_id ? state.conversations.get(notification.conversation_id) : null;
  const where = conversation ? conversationTitle(state, conversation) : null;
  switch (notification.type) {
    case "mention": {
      // In a conversation that is not muted, the message was the alert already.
      if (!conversation || !isMuted(conversation, now)) return null;
      const last = conversation.last_message;
      const body = last?.id === notification.message_id ? preview(last) : "";
      return { tag: conversationTag(conversation.id), title: `${actor} mentioned you in ${where}`, body, conversationId: conversation.id, messageId: notification.message_id };
    }
    case "added_to_group":
      return { tag: conversationTag(notification.conversation_id), title: actor, body: where ? `added you to ${where}` : "added you to a group", conversationId: notification.conversation_id, messageId: null };
    case "friend_request":
      return { tag: `tidings-n${notification.id}`, title: actor, body: "wants to be your friend", conversationId: null, messageId: null };
    case "friend_accepted":
      return { tag: `tidings-n${notification.id}`, title: actor, body: "accepted your friend request", conversationId: null, messageId: null };
    default:
      return null;
  }
}

/** What a screen reader is told of a `message` event (applied to `state` already) while
 * conversation `openId` is open: "Bob Marley: see you at 9"; null for ours, a system line, or a
 * message elsewhere. */
export function announcementFor(state, message, openId) {
  const senderId = message.sender?.id ?? message.sender_id;
  if (message.conversation_id !== openId || senderId === state.meId || message.system || message.deleted) return null;
  const sender = (state.users.has(senderId) ? userById(state, senderId) : message.sender)?.display_name ?? "Someone";
  return `${sender}: ${preview(message)}`;
}

/** The alert an event of `type` deserves (`data` its payload, applied to `state` already). */
export function alertFor(state, type, data, now = Date.now()) {
  if (type === "message") return messageAlert(state, data.message, now);
  if (type === "notification") return notificationAlert(state, data.notification, now);
  return null;
}

/**
 * How an alert is given now: `{notify, sound}`. Nothing unless this tab holds the stream
 * (`role` leader or solo) and no tab is visible; then a system notification if the setting is
 * on and the browser allows it (`permission`, Notification.permission), and the tone if that
 * setting is on (our settings unknown yet: nothing).
 */
export function delivery(state, { role, anyVisible, permission }) {
  const none = { notify: false, sound: false };
  if ((role !== "leader" && role !== "solo") || anyVisible || !state.settings) return none;
  const settings = settingsOf(state);
  return { notify: settings.desktop_notifications && permission === "granted", sound: settings.notification_sound };
}

/**
 * What one tab knows of the others' visibility: each tab says when it changes, answers when
 * asked, and says goodbye when its page goes away. (A tab that crashed while visible keeps
 * counting as visible until asked again: no alert rather than a wrong one.)
 */
export class TabBoard {
  constructor() {
    this.others = new Map(); // tab id -> visible
  }

  /** A message from another tab: `{kind: "visibility", tab, visible}` or `{kind: "gone", tab}`;
   * whether what we know changed. */
  hear(message) {
    if (message.kind === "visibility") {
      const changed = this.others.get(message.tab) !== message.visible;
      this.others.set(message.tab, message.visible);
      return changed;
    }
    if (message.kind === "gone") return this.others.delete(message.tab);
    return false;
  }

  /** How many tabs are visible, this one (`selfVisible`) included. */
  visibleCount(selfVisible) {
    return [...this.others.values()].filter(Boolean).length + (selfVisible ? 1 : 0);
  }
}
