// The notification bell: unread badge, a dropdown of notifications, mark one / all read.
//
// Two kinds of entry. New messages are derived: one entry per conversation with unread
// messages ("Alice: 3 new messages in Book club"), newest first, on top; opening one opens the
// conversation, which marks it read, and its `read` event removes the entry in every tab.
// Below them the stored notifications (friend requests, accepted requests, added to a group,
// mentions: opening one shows the message),
// which the store keeps current from `notification` and `notification_read` events, so every
// tab agrees. The badge counts unread stored notifications plus conversations with unread
// messages; "Mark all read" concerns the stored ones only. Entries are kept by key and updated
// in place, so the focused one keeps focus as the list changes under it.
import { markConversationRead, readAllNotifications, readNotification } from "../actions.js";
import { attempt, reportError } from "../errors.js";
import { fullTime, h, paintAvatar, renderKeyed, setBadge, shortTime, testid } from "../dom.js";
import { go } from "../router.js";
import { state, watch } from "../store.js";
import { conversationTitle, otherMember, unreadConversations } from "../store/conversations.js";
import { bellCount, sortedNotifications } from "../store/notifications.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { openConversation, showMessage } from "./conversation.js";

const button = testid("bell-button");
const badge = testid("bell-badge");
const panel = testid("notification-panel");
const list = testid("notification-list");
const empty = testid("notifications-empty");
const markAll = testid("mark-all-read");

export function mountBell() {
  watch("notifications", render);
  watch("conversations", render);
  watch("users", render);

  button.addEventListener("click", () => (panel.hidden ? open() : close()));
  markAll.addEventListener("click", async () => {
    markAll.disabled = true;
    await attempt("Couldn't mark the notifications read", readAllNotifications);
    markAll.disabled = false;
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

// Stored notifications ------------------------------------------------------------------------

function describe(n) {
  const conversation = n.conversation_id ? state.conversations.get(n.conversation_id) : null;
  switch (n.type) {
    case "friend_request":
      return "wants to be your friend";
    case "friend_accepted":
      return "accepted your friend request";
    case "added_to_group":
      return conversation ? `added you to ${conversation.name}` : "added you to a group";
    case "mention":
      return conversation ? `mentioned you in ${conversationTitle(state, conversation)}` : "mentioned you";
    default:
      return "did something";
  }
}

function openNotification(id) {
  const n = state.notifications.get(id);
  if (!n) return;
  close();
  if (n.conversation_id && n.message_id) showMessage(n.conversation_id, n.message_id).catch((error) => reportError("Couldn't open the message", error));
  else go(n.conversation_id ? `#/c/${n.conversation_id}` : "#/friends");
  if (!n.read) markRead(id);
}

function markRead(id) {
  attempt("Couldn't mark the notification read", () => readNotification(id));
}

// Derived entries: a conversation with unread messages ----------------------------------------

/** Who the entry names: the last message's sender (in a DM, the other person in any case). */
function actorOf(conversation) {
  const senderId = conversation.last_message.sender_id;
  return conversation.type === "direct" && senderId === state.meId ? otherMember(state, conversation) : userById(state, senderId);
}

function describeUnread(conversation) {
  const n = conversation.unread_count;
  if (conversation.type === "group") {
    return `: ${n} new message${n === 1 ? "" : "s"} in ${conversationTitle(state, conversation)}`;
  }
  return n === 1 ? " sent you a message" : ` sent you ${n} messages`;
}

function openUnread(id) {
  close();
  const hash = `#/c/${id}`;
  // Already open (the route does not change): opening it again marks it read.
  if (location.hash === hash) openConversation(id);
  else go(hash);
}

// Drawing -------------------------------------------------------------------------------------

/** The list's entries: `{key, conversation}` or `{key, notification}`. */
function entries() {
  return [
    ...unreadConversations(state).map((conversation) => ({ key: `c${conversation.id}`, conversation })),
    ...sortedNotifications(state).map((notification) => ({ key: `n${notification.id}`, notification })),
  ];
}

function create({ conversation, notification }) {
  const li = conversation
    ? h("li", { class: "notif unread", testid: "notification-item", dataset: { conversationId: String(conversation.id), type: "messages" } })
    : h("li", { class: "notif", testid: "notification-item", dataset: { notificationId: String(notification.id), type: notification.type } });
  const onOpen = conversation ? () => openUnread(conversation.id) : () => openNotification(notification.id);
  li.append(
    h(
      "button",
      { class: "notif-main", type: "button", testid: "notification-open", onclick: onOpen },
      h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }),
      h("span", { class: "notif-text" }, h("span", null, h("strong"), h("span")), h("time")),
    ),
  );
  return li;
}

function markReadButton(onclick) {
  return h(
    "button",
    { class: "icon-btn mark-read", type: "button", testid: "notification-mark-read", "aria-label": "Mark read", title: "Mark read", onclick },
    h("span", { class: "dot", "aria-hidden": "true" }),
  );
}

function update(li, { conversation, notification }) {
  let actor, text, when, unread, onMarkRead;
  if (conversation) {
    actor = actorOf(conversation);
    text = describeUnread(conversation);
    when = conversation.last_message.created_at;
    unread = true;
    onMarkRead = () => attempt("Couldn't mark the conversation read", () => markConversationRead(conversation.id));
  } else {
    actor = userById(state, notification.actor_id);
    text = ` ${describe(notification)}`;
    when = notification.created_at;
    unread = !notification.read;
    onMarkRead = () => markRead(notification.id);
  }
  li.classList.toggle("unread", unread);
  paintAvatar(li.querySelector(".avatar"), actor);
  const [name, rest] = li.querySelector(".notif-text > span").children;
  showName(name, actor.display_name, actor);
  rest.textContent = text;
  const time = li.querySelector("time");
  time.dateTime = when;
  time.title = fullTime(when);
  time.textContent = shortTime(when);
  const markButton = li.querySelector("[data-testid=notification-mark-read]");
  if (unread && !markButton) li.append(markReadButton(onMarkRead));
  else if (!unread && markButton) markButton.remove();
}

function render() {
  if (state.meId === null) return;
  const count = bellCount(state);
  setBadge(badge, count);
  button.setAttribute("aria-label", count ? `Notifications, ${count} unread` : "Notifications");
  const items = entries();
  renderKeyed(list, items, (entry) => entry.key, create, update);
  empty.hidden = items.length > 0;
  markAll.hidden = state.unreadCount === 0;
}
