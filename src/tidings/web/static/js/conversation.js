// The open conversation: its history (older pages load on scrolling up), live messages, and the
// composer. Opening a conversation, or doing something in it, marks it read.
//
// A message sent here shows at once as a pending copy. Its POST answer and its `message` event
// (which every tab of ours gets, this one included) both replace that copy with the message,
// whichever comes first, and it shows once (see `applyMessage` and `settlePending` in store.js).
import { api } from "./api.js";
import { avatar, clockTime, dayKey, dayLabel, fullTime, h, paintAvatar, testid } from "./dom.js";
import {
  addPending,
  applyMessage,
  conversationTitle,
  failPending,
  mergeHistory,
  otherMember,
  settlePending,
  sortedMessages,
  state,
  thread,
  watch,
} from "./store.js";

const PAGE = 40;
const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 120;

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
let nodes = new Map(); // key -> element, for the open conversation
let pendingSeq = 0;
const markedUpTo = new Map(); // conversation id -> last message id we asked to mark read

export function mountConversation(realtime) {
  realtime.on("message", ({ message }) => applyMessage(message));
  watch("messages", (conversationId) => {
    if (conversationId === openId) render();
  });
  watch("conversations", () => {
    if (openId === null) return;
    renderHeader();
  });
  watch("resynced", () => {
    if (openId !== null && thread(openId).stale) loadLatest(openId);
  });

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_TOP_PX) loadOlder();
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
    nodes = new Map();
    itemsEl.replaceChildren();
    input.value = "";
    sendButton.disabled = true;
  }
  renderHeader();
  const t = thread(id);
  render({ toBottom: true });
  if (!t.loaded || t.stale) loadLatest(id);
  markRead();
  if (changedConversation && matchMedia("(pointer: fine)").matches) input.focus({ preventScroll: true });
}

export function closeConversation() {
  openId = null;
}

function renderHeader() {
  const conversation = state.conversations.get(openId);
  if (!conversation) {
    titleEl.textContent = "Conversation not found";
    membersEl.textContent = "It may have been removed, or you left it.";
    form.hidden = true;
    return;
  }
  form.hidden = false;
  const title = conversationTitle(conversation);
  titleEl.textContent = title;
  const isGroup = conversation.type === "group";
  paintAvatar(avatarEl, isGroup ? { id: conversation.id } : otherMember(conversation), isGroup ? title : undefined);
  avatarEl.classList.toggle("avatar-group", isGroup);
  membersEl.textContent = isGroup
    ? conversation.members.map((m) => (m.id === state.me.id ? "You" : m.display_name)).join(", ")
    : `@${otherMember(conversation).username}`;
  input.placeholder = `Message ${title}`;
}

async function loadLatest(id) {
  const t = thread(id);
  if (t.loading) return;
  t.loading = true;
  historyStatus.textContent = "Loading messages…";
  try {
    const page = await api("GET", `/api/conversations/${id}/messages?limit=${PAGE}`);
    t.loading = false;
    mergeHistory(id, page, { older: false });
    if (id === openId) {
      render({ toBottom: true });
      fillViewport();
    }
  } catch (error) {
    t.loading = false;
    if (id === openId) historyStatus.textContent = `Couldn't load messages: ${error.message}`;
  }
}

async function loadOlder() {
  const id = openId;
  if (id === null) return;
  const t = thread(id);
  const first = sortedMessages(id)[0];
  if (!t.hasMore || t.loading || !first) return;
  t.loading = true;
  historyStatus.textContent = "Loading earlier messages…";
  try {
    const page = await api("GET", `/api/conversations/${id}/messages?limit=${PAGE}&before=${first.id}`);
    t.loading = false;
    if (id !== openId) {
      mergeHistory(id, page, { older: true });
      return;
    }
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    mergeHistory(id, page, { older: true }); // renders
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    fillViewport();
  } catch (error) {
    t.loading = false;
    historyStatus.textContent = `Couldn't load earlier messages: ${error.message}`;
  }
}

/** Keep loading older pages while the history does not fill the pane (nothing to scroll). */
function fillViewport() {
  if (scroller.scrollHeight <= scroller.clientHeight + NEAR_TOP_PX) loadOlder();
}

function nearBottom() {
  return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;
}

function render({ toBottom = false } = {}) {
  if (openId === null) return;
  const stick = toBottom || nearBottom();
  const t = thread(openId);
  const messages = sortedMessages(openId);
  const pending = [...t.pending.values()];
  const wanted = [];
  let previous = null;
  for (const message of [...messages, ...pending]) {
    const created = message.created_at;
    if (!previous || dayKey(previous.created_at) !== dayKey(created)) {
      wanted.push(dayNode(created));
    }
    const grouped =
      previous &&
      previous.sender.id === message.sender.id &&
      dayKey(previous.created_at) === dayKey(created) &&
      Date.parse(created) - Date.parse(previous.created_at) < 5 * 60000;
    wanted.push(message.key ? pendingNode(message) : messageNode(message, grouped));
    previous = message;
  }
  const keep = new Set(wanted);
  for (const [key, node] of nodes) {
    if (!keep.has(node)) {
      node.remove();
      nodes.delete(key);
    }
  }
  wanted.forEach((node, index) => {
    const at = itemsEl.children[index] ?? null;
    if (at !== node) itemsEl.insertBefore(node, at);
  });
  if (t.loading) historyStatus.textContent = messages.length ? "Loading earlier messages…" : "Loading messages…";
  else if (t.hasMore) historyStatus.textContent = "Scroll up for earlier messages";
  else historyStatus.textContent = messages.length ? "This is the beginning of the conversation." : "No messages yet. Say hello!";
  if (stick) scroller.scrollTop = scroller.scrollHeight;
}

function dayNode(iso) {
  const key = `day-${dayKey(iso)}`;
  let node = nodes.get(key);
  if (!node) {
    node = h("li", { class: "day-divider", role: "separator" }, h("span", { text: dayLabel(iso) }));
    nodes.set(key, node);
  }
  return node;
}

function messageNode(message, grouped) {
  const key = `m-${message.id}`;
  let node = nodes.get(key);
  const own = message.sender.id === state.me.id;
  if (!node) {
    const isGroup = state.conversations.get(message.conversation_id)?.type === "group";
    node = h(
      "li",
      { class: `msg${own ? " own" : ""}`, testid: "message", dataset: { messageId: String(message.id) } },
      own ? null : avatar(message.sender, "avatar-sm"),
      h(
        "div",
        { class: "msg-body" },
        own || !isGroup ? null : h("span", { class: "msg-sender", text: message.sender.display_name }),
        h("div", { class: "bubble" }, h("span", { class: "msg-text", testid: "message-text", text: message.content })),
        h("time", { class: "msg-time", datetime: message.created_at, title: fullTime(message.created_at), text: clockTime(message.created_at) }),
      ),
    );
    nodes.set(key, node);
  }
  node.classList.toggle("grouped", Boolean(grouped));
  return node;
}

function pendingNode(pending) {
  const key = `p-${pending.key}`;
  let node = nodes.get(key);
  if (!node) {
    node = h(
      "li",
      { class: "msg own pending", testid: "message", dataset: { pending: "true" } },
      h(
        "div",
        { class: "msg-body" },
        h("div", { class: "bubble" }, h("span", { class: "msg-text", testid: "message-text", text: pending.content })),
        h("span", { class: "msg-time", testid: "message-state" }),
      ),
    );
    nodes.set(key, node);
  }
  const stateEl = node.querySelector("[data-testid=message-state]");
  if (pending.error) {
    node.classList.add("failed");
    stateEl.replaceChildren(
      `Not sent: ${pending.error}. `,
      h("button", { class: "link-btn", type: "button", text: "Retry", onclick: () => retry(pending) }),
    );
  } else {
    stateEl.textContent = "Sending…";
  }
  return node;
}

function send() {
  const content = input.value.trim();
  if (!content || openId === null) return;
  input.value = "";
  sendButton.disabled = true;
  const pending = {
    key: `${Date.now()}-${++pendingSeq}`,
    content,
    sender: state.me,
    created_at: new Date().toISOString(),
    conversationId: openId,
  };
  addPending(openId, pending);
  scroller.scrollTop = scroller.scrollHeight;
  post(pending);
}

function retry(pending) {
  pending.error = null;
  addPending(pending.conversationId, pending);
  post(pending);
}

async function post(pending) {
  const id = pending.conversationId;
  try {
    const { message } = await api("POST", `/api/conversations/${id}/messages`, { content: pending.content });
    settlePending(id, pending.key, message);
  } catch (error) {
    failPending(id, pending.key, error.message);
  }
}

async function markRead() {
  if (openId === null || document.visibilityState !== "visible") return;
  const conversation = state.conversations.get(openId);
  if (!conversation || conversation.unread_count === 0) return;
  const upTo = conversation.last_message?.id ?? 0;
  if (markedUpTo.get(openId) === upTo) return; // asked already; the event will follow
  markedUpTo.set(openId, upTo);
  try {
    await api("POST", `/api/conversations/${openId}/read`);
  } catch {
    markedUpTo.delete(conversation.id);
  }
}
