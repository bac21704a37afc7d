// The open conversation: its history (older pages load on scrolling up), live messages, and the
// composer. Opening a conversation, or doing something in it, marks it read.
//
// A message sent here shows at once as a pending copy, under a client id that its POST answer
// and its `message` event both carry; whichever comes first turns the copy into the message, in
// place (the same element: see `messageKey` in store/messages.js), and it shows once. A
// message's element is redrawn when what it shows changed (its record, its grouping with the
// one before, its sender), not at every change to the store.
import { markConversationRead, retryMessage, sendMessage } from "../actions.js";
import { attempt } from "../errors.js";
import { clockTime, dayKey, dayLabel, fullTime, h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { loadLatest, loadOlder } from "../loaders.js";
import { state, watch } from "../store.js";
import { conversationTitle, otherMember } from "../store/conversations.js";
import { messageKey, pendingMessages, sortedMessages, threadOf } from "../store/messages.js";
import { userById } from "../store/users.js";

const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 120;
const GROUP_WITHIN_MS = 5 * 60000;

const view = testid("conversation-view");
const scroller = testid("message-list");
const itemsEl = scroller.querySelector(".message-items");
const historyStatus = testid("history-status");
const form = testid("composer");
const input = testid("composer-input");
const sendButton = testid("send-button");
const titleEl = testid("conversation-title");
const membersEl = testid("conversation-members");
const avatarEl = testid("conversation-avatar");

let openId = null;
let drawnHeader = null; // what the header shows (see headerKey)
const drawnItems = new WeakMap(); // message element -> what it was drawn from (see update)
const drawnMeta = new WeakMap(); // message element -> the state its bottom line shows
const markedUpTo = new Map(); // conversation id -> last message id we asked to mark read

export function mountConversation() {
  watch("messages", (conversationId) => {
    if (conversationId === openId) render();
  });
  watch("conversations", () => {
    // Only a change to the open conversation itself (a group's name or members, or its
    // arrival): a new message elsewhere, or its last message here, changes nothing in this pane.
    if (openId === null || headerKey() === drawnHeader) return;
    renderHeader();
    render();
  });
  watch("users", () => {
    if (openId === null) return;
    renderHeader();
    render();
  });
  watch("resynced", () => {
    if (openId === null) return;
    render();
    if (threadOf(state, openId).stale) loadLatestAndFill(openId);
  });

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_TOP_PX) loadOlderAndFill();
  });
  input.addEventListener("input", () => {
    sendButton.disabled = input.value.trim() === "";
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  // Reading is doing something in the conversation while the page is visible.
  for (const type of ["pointerdown", "keydown", "wheel", "focusin"]) {
    view.addEventListener(type, () => markRead(), { passive: true });
  }
  document.addEventListener("visibilitychange", () => markRead());
}

export function openConversation(id) {
  const changedConversation = id !== openId;
  openId = id;
  if (changedConversation) {
    input.value = "";
    sendButton.disabled = true;
  }
  renderHeader();
  render({ toBottom: true });
  const t = threadOf(state, id);
  if (!t.loaded || t.stale) loadLatestAndFill(id);
  markRead();
  if (changedConversation && matchMedia("(pointer: fine)").matches) input.focus({ preventScroll: true });
}

export function closeConversation() {
  openId = null;
}

/** What the header (and whether senders are named) depends on in the open conversation. */
function headerKey() {
  const conversation = state.conversations.get(openId);
  if (!conversation) return `${openId}:none`;
  return JSON.stringify([openId, conversation.type, conversation.name, conversation.member_ids]);
}

function renderHeader() {
  drawnHeader = headerKey();
  const conversation = state.conversations.get(openId);
  if (!conversation) {
    titleEl.textContent = "Conversation not found";
    membersEl.textContent = "It may have been removed, or you left it.";
    form.hidden = true;
    return;
  }
  form.hidden = false;
  const title = conversationTitle(state, conversation);
  titleEl.textContent = title;
  const isGroup = conversation.type === "group";
  paintAvatar(avatarEl, isGroup ? { id: conversation.id } : otherMember(state, conversation), isGroup ? title : undefined);
  avatarEl.classList.toggle("avatar-group", isGroup);
  membersEl.textContent = isGroup
    ? conversation.member_ids.map((id) => (id === state.meId ? "You" : userById(state, id).display_name)).join(", ")
    : `@${otherMember(state, conversation).username}`;
  input.placeholder = `Message ${title}`;
}

// History -------------------------------------------------------------------------------------

async function loadLatestAndFill(id) {
  await loadLatest(id);
  if (id !== openId) return;
  render({ toBottom: true });
  fillViewport();
}

async function loadOlderAndFill() {
  if (openId === null) return;
  const id = openId;
  await loadOlder(id);
  if (id === openId) fillViewport();
}

/** Keep loading older pages while the history does not fill the pane (nothing to scroll). */
function fillViewport() {
  const t = threadOf(state, openId);
  if (t.hasMore && !t.error && scroller.scrollHeight <= scroller.clientHeight + NEAR_TOP_PX) loadOlderAndFill();
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
}

/** The first message at least partly in view, and where it is: what stays put when items are
 * added above it (an older page) or below. (Not a day divider: an older page of the same day
 * goes in below its divider.) */
function scrollAnchor() {
  const top = scroller.getBoundingClientRect().top;
  for (const el of itemsEl.children) {
    if (el.dataset.testid !== "message") continue;
    const rect = el.getBoundingClientRect();
    if (rect.bottom > top) return { el, top: rect.top };
  }
  return null;
}

// Messages ------------------------------------------------------------------------------------

/** The list's items, oldest first: day dividers, messages, then our pending sends. */
function listItems() {
  const items = [];
  let previous = null;
  for (const message of [...sortedMessages(state, openId), ...pendingMessages(state, openId)]) {
    const sameDay = previous && dayKey(previous.created_at) === dayKey(message.created_at);
    if (!sameDay) items.push({ key: `day:${dayKey(message.created_at)}`, day: message.created_at });
    const grouped =
      sameDay &&
      previous.sender_id === message.sender_id &&
      Date.parse(message.created_at) - Date.parse(previous.created_at) < GROUP_WITHIN_MS;
    items.push({ key: messageKey(message), message, grouped });
    previous = message;
  }
  return items;
}

function render({ toBottom = false } = {}) {
  if (openId === null) return;
  const stick = toBottom || nearBottom();
  const anchor = stick ? null : scrollAnchor();
  const t = threadOf(state, openId);
  renderKeyed(itemsEl, listItems(), (item) => item.key, create, update);
  const count = t.messages.size;
  if (t.error) historyStatus.textContent = t.error;
  else if (t.loading) historyStatus.textContent = count ? "Loading earlier messages…" : "Loading messages…";
  else if (t.hasMore) historyStatus.textContent = "Scroll up for earlier messages";
  else historyStatus.textContent = count ? "This is the beginning of the conversation." : "No messages yet. Say hello!";
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  else if (anchor?.el.isConnected) scroller.scrollTop += anchor.el.getBoundingClientRect().top - anchor.top;
}

function create(item) {
  if (item.day) return h("li", { class: "day-divider", role: "separator" }, h("span", { text: dayLabel(item.day) }));
  const own = item.message.sender_id === state.meId;
  return h(
    "li",
    { class: `msg${own ? " own" : ""}`, testid: "message" },
    own ? null : h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }),
    h(
      "div",
      { class: "msg-body" },
      own ? null : h("span", { class: "msg-sender", hidden: true }),
      h("div", { class: "bubble" }, h("span", { class: "msg-text", testid: "message-text" })),
      h("span", { class: "msg-time" }),
    ),
  );
}

/** Draw a message (or our pending copy of one) into its element, whatever it showed before;
 * nothing to do if what it was drawn from is the same. Records are replaced when they change
 * (store/messages.js), users too (store/users.js); a pending copy's error changes in place. */
function update(li, item) {
  if (item.day) return;
  const { message, grouped } = item;
  const drawn = {
    message,
    error: message.error,
    grouped: Boolean(grouped),
    sender: state.users.get(message.sender_id),
    group: state.conversations.get(message.conversation_id)?.type === "group",
  };
  const before = drawnItems.get(li);
  if (before && Object.keys(drawn).every((k) => before[k] === drawn[k])) return;
  drawnItems.set(li, drawn);
  const pending = message.id === undefined;
  li.classList.toggle("grouped", Boolean(grouped));
  li.classList.toggle("pending", pending);
  li.classList.toggle("failed", pending && Boolean(message.error));
  if (pending) {
    li.dataset.pending = "true";
    delete li.dataset.messageId;
  } else {
    delete li.dataset.pending;
    li.dataset.messageId = String(message.id);
  }
  const sender = userById(state, message.sender_id);
  const avatarEl = li.querySelector(":scope > .avatar");
  if (avatarEl) paintAvatar(avatarEl, sender);
  const senderEl = li.querySelector(".msg-sender");
  if (senderEl) {
    senderEl.hidden = !drawn.group;
    senderEl.textContent = sender.display_name;
  }
  const text = li.querySelector(".msg-text");
  if (text.textContent !== message.content) text.textContent = message.content;
  // The line under the bubble changes with the message's state (not at every render, which
  // would take the focus off a Retry button).
  const meta = pending ? `failed:${message.error ?? ""}` : `sent:${message.created_at}`;
  if (drawnMeta.get(li) !== meta) {
    drawnMeta.set(li, meta);
    li.querySelector(".msg-body").lastChild.replaceWith(pending ? stateLine(message) : timeLine(message));
  }
}

function timeLine(message) {
  return h("time", { class: "msg-time", datetime: message.created_at, title: fullTime(message.created_at), text: clockTime(message.created_at) });
}

function stateLine(pending) {
  if (!pending.error) return h("span", { class: "msg-time", testid: "message-state", text: "Sending…" });
  return h(
    "span",
    { class: "msg-time", testid: "message-state" },
    `Not sent: ${pending.error.replace(/\.$/, "")}. `,
    h("button", { class: "link-btn", type: "button", text: "Retry", onclick: () => retryMessage(pending.conversation_id, pending.client_id) }),
  );
}

function send() {
  const content = input.value.trim();
  if (!content || openId === null) return;
  input.value = "";
  sendButton.disabled = true;
  sendMessage(openId, content);
  scroller.scrollTop = scroller.scrollHeight;
}

async function markRead() {
  if (openId === null || document.visibilityState !== "visible") return;
  const id = openId;
  const conversation = state.conversations.get(id);
  if (!conversation || conversation.unread_count === 0) return;
  const upTo = conversation.last_message?.id ?? 0;
  if (markedUpTo.get(id) === upTo) return; // asked already; the event will follow
  markedUpTo.set(id, upTo);
  const done = await attempt("Couldn't mark the conversation read", async () => {
    await markConversationRead(id);
    return true;
  });
  if (!done) markedUpTo.delete(id);
}
