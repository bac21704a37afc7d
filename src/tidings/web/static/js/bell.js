// The notification bell: unread badge, a dropdown of notifications, mark one / all read.
// Badge and list follow `notification` and `notification_read`, so every tab agrees.
import { api } from "./api.js";
import { avatar, fullTime, h, setBadge, shortTime, testid } from "./dom.js";
import {
  applyNotification,
  applyNotificationsRead,
  sortedNotifications,
  state,
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
    case "message":
      return conversation?.type === "group" ? `wrote in ${conversation.name}` : "sent you a message";
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

function render() {
  const count = state.unreadCount;
  setBadge(badge, count);
  button.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  const notifications = sortedNotifications();
  list.replaceChildren(
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
  empty.hidden = notifications.length > 0;
  markAll.hidden = count === 0;
}
