// The notification bell: unread badge, a dropdown of notifications, mark one / all read.
//
// Two kinds of entry. New messages are derived: one entry per conversation with unread
// messages ("Alice: 3 new messages in Book club"), newest first, on top; opening one opens the
// conversation, which marks it read, and its `read` event removes the entry in every tab.
// Below them the stored notifications (friend requests, accepted requests, added to a group),
// which follow `notification` and `notification_read`, so every tab agrees. The badge counts
// unread stored notifications plus conversations with unread messages; "Mark all read" concerns
// the stored ones only.
import { api } from "./api.js";
import { openConversation } from "./conversation.js";
import { avatar, fullTime, h, setBadge, shortTime, testid } from "./dom.js";
import {
  applyNotification,
  applyNotificationsRead,
  bellCount,
  conversationTitle,
  otherMember,
  sortedNotifications,
  state,
  unreadConversations,
  watch,
} from "./store.js";
import { go } from "./router.js";

const button = testid("bell-button");
const badge = testid("bell-badge");
const panel = testid("notification-panel");
const list = testid("notification-list");
const empty = testid("notifications-empty");
const markAll = testid("mark-all-read");

export function mountBell(realtime) {
  realtime.on("notification", ({ notification, unread_count: count }) => applyNotification(notification, count));
  realtime.on("notification_read", ({ notification_ids: ids, unread_count: count }) => applyNotificationsRead(ids, count));
  watch("notifications", render);
  watch("conversations", render);

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    try {
      await api("POST", "/api/notifications/read-all");
    } finally {
      markAll.disabled = false;
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !panel.hidden) {
      close();
      button.focus();
    }
  });
  document.addEventListener("pointerdown", (event) => {
    if (!panel.hidden && !panel.contains(event.target) && !button.contains(event.target)) close();
  });
}

function open() {
  panel.hidden = false;
  button.setAttribute("aria-expanded", "true");
  (list.querySelector("button") ?? markAll).focus();
}

function close() {
  panel.hidden = true;
  button.setAttribute("aria-expanded", "false");
}

function describe(n) {
  const conversation = n.conversation_id ? state.conversations.get(n.conversation_id) : null;
  switch (n.type) {
    case "friend_request":
      return "wants to be your friend";
    case "friend_accepted":
      return "accepted your friend request";
    case "added_to_group":
      return conversation ? `added you to ${conversation.name}` : "added you to a group";
    default:
      return "did something";
  }
}

function target(n) {
  return n.conversation_id ? `#/c/${n.conversation_id}` : "#/friends";
}

async function openNotification(n) {
  close();
  go(target(n));
  if (!n.read) await markRead(n);
}

async function markRead(n) {
  n.read = true; // the notification_read event brings the count
  render();
  await api("POST", `/api/notifications/${n.id}`);
}

// Derived entries: a conversation with unread messages ----------------------------------------

/** Who the entry names: the last message's sender (in a DM, the other person in any case). */
function actorOf(conversation) {
  const sender = conversation.last_message.sender;
  return conversation.type === "direct" && sender.id === state.me.id ? otherMember(conversation) : sender;
}

function describeUnread(conversation) {
  const n = conversation.unread_count;
  if (conversation.type === "group") {
    return `: ${n} new message${n === 1 ? "" : "s"} in ${conversationTitle(conversation)}`;
  }
  return n === 1 ? " sent you a message" : ` sent you ${n} messages`;
}

function openUnread(conversation) {
  close();
  const hash = `#/c/${conversation.id}`;
  // Already open (the route does not change): opening it again marks it read.
  if (location.hash === hash) openConversation(conversation.id);
  else go(hash);
}

async function markConversationRead(conversation) {
  await api("POST", `/api/conversations/${conversation.id}/read`); // its `read` event follows
}

function unreadEntry(conversation) {
  const when = conversation.last_message.created_at;
  const actor = actorOf(conversation);
  return h(
    "li",
    { class: "notif unread", testid: "notification-item", dataset: { conversationId: String(conversation.id), type: "messages" } },
    h(
      "button",
      { class: "notif-main", type: "button", testid: "notification-open", onclick: () => openUnread(conversation) },
      avatar(actor, "avatar-sm"),
      h(
        "span",
        { class: "notif-text" },
        h("span", null, h("strong", { text: actor.display_name }), describeUnread(conversation)),
        h("time", { datetime: when, title: fullTime(when), text: shortTime(when) }),
      ),
    ),
    h(
      "button",
      { class: "icon-btn mark-read", type: "button", testid: "notification-mark-read", "aria-label": "Mark read", title: "Mark read", onclick: () => markConversationRead(conversation) },
      h("span", { class: "dot", "aria-hidden": "true" }),
    ),
  );
}

/** The entry and control that has keyboard focus, to give it back after a re-render (the list
 * is rebuilt whenever a conversation changes, which is at every message). */
function focusedControl() {
  const el = document.activeElement;
  const li = el && list.contains(el) ? el.closest("li") : null;
  return li ? { entry: entryKey(li), control: el.dataset.testid } : null;
}

function entryKey(li) {
  return li.dataset.conversationId ? `c${li.dataset.conversationId}` : `n${li.dataset.notificationId}`;
}

function render() {
  if (!state.me) return;
  const focused = focusedControl();
  const count = bellCount();
  setBadge(badge, count);
  button.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  const unread = unreadConversations();
  const notifications = sortedNotifications();
  list.replaceChildren(
    ...unread.map(unreadEntry),
    ...notifications.map((n) =>
      h(
        "li",
        { class: `notif${n.read ? "" : " unread"}`, testid: "notification-item", dataset: { notificationId: String(n.id), type: n.type } },
        h(
          "button",
          { class: "notif-main", type: "button", testid: "notification-open", onclick: () => openNotification(n) },
          avatar(n.actor, "avatar-sm"),
          h(
            "span",
            { class: "notif-text" },
            h("span", null, h("strong", { text: n.actor.display_name }), " ", describe(n)),
            h("time", { datetime: n.created_at, title: fullTime(n.created_at), text: shortTime(n.created_at) }),
          ),
        ),
        n.read
          ? null
          : h(
              "button",
              { class: "icon-btn mark-read", type: "button", testid: "notification-mark-read", "aria-label": "Mark read", title: "Mark read", onclick: () => markRead(n) },
              h("span", { class: "dot", "aria-hidden": "true" }),
            ),
      ),
    ),
  );
  empty.hidden = unread.length + notifications.length > 0;
  markAll.hidden = state.unreadCount === 0;
  if (focused) {
    const li = [...list.children].find((item) => entryKey(item) === focused.entry);
    li?.querySelector(`[data-testid="${focused.control}"]`)?.focus();
  }
}
