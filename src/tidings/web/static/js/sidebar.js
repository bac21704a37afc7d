// The conversation list: ordered by latest activity, with preview, time and unread badge.
// Preview, order and unread badge follow `message` events (the store derives them); membership
// and read state follow `conversation_update` (`removed`: we are no longer a member).
import { h, paintAvatar, setBadge, shortTime, testid } from "./dom.js";
import {
  applyConversation,
  applyConversationMessage,
  conversationTitle,
  otherMember,
  removeConversation,
  sortedConversations,
  state,
  watch,
} from "./store.js";

const list = testid("conversation-list");
const empty = testid("conversations-empty");
const items = new Map(); // conversation id -> <li>
let activeId = null;

export function mountSidebar(realtime) {
  realtime.on("message", ({ message }) => applyConversationMessage(message));
  realtime.on("conversation_update", ({ conversation, conversation_id: id }) => {
    if (conversation) applyConversation(conversation);
    else removeConversation(id);
  });
  watch("conversations", render);
  // Times like "Mon" go stale as days pass: refresh them once a minute (no requests).
  setInterval(render, 60000);
}

export function setActiveConversation(id) {
  activeId = id;
  render();
}

function preview(conversation) {
  const message = conversation.last_message;
  if (!message) return conversation.type === "group" ? "Group created" : "Say hello 👋";
  const text = message.content.replace(/\s+/g, " ");
  if (message.sender.id === state.me.id) return `You: ${text}`;
  if (conversation.type === "group") return `${message.sender.display_name}: ${text}`;
  return text;
}

function itemFor(conversation) {
  let li = items.get(conversation.id);
  if (!li) {
    const link = h(
      "a",
      { class: "conv-item", href: `#/c/${conversation.id}`, testid: "conversation-item" },
      h("span", { class: "avatar" }),
      h(
        "span",
        { class: "conv-body" },
        h("span", { class: "conv-top" }, h("span", { class: "conv-name", testid: "conversation-name" }), h("time", { class: "conv-time", testid: "conversation-time" })),
        h("span", { class: "conv-bottom" }, h("span", { class: "conv-preview", testid: "conversation-preview" }), h("span", { class: "badge", testid: "unread-badge", hidden: true })),
      ),
    );
    li = h("li", { dataset: { conversationId: String(conversation.id) } }, link);
    items.set(conversation.id, li);
  }
  const link = li.firstChild;
  const title = conversationTitle(conversation);
  const isGroup = conversation.type === "group";
  paintAvatar(link.querySelector(".avatar"), isGroup ? { id: conversation.id } : otherMember(conversation), isGroup ? title : undefined);
  link.querySelector(".avatar").classList.toggle("avatar-group", isGroup);
  link.querySelector(".conv-name").textContent = title;
  const when = conversation.last_message?.created_at ?? conversation.updated_at;
  const time = link.querySelector("time");
  time.textContent = shortTime(when);
  time.dateTime = when;
  link.querySelector(".conv-preview").textContent = preview(conversation);
  setBadge(link.querySelector(".badge"), conversation.unread_count);
  link.classList.toggle("unread", conversation.unread_count > 0);
  link.classList.toggle("active", conversation.id === activeId);
  if (conversation.id === activeId) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  const unread = conversation.unread_count ? `, ${conversation.unread_count} unread` : "";
  link.setAttribute("aria-label", `${title}${unread}: ${preview(conversation)}`);
  return li;
}

function render() {
  if (!state.me) return;
  const conversations = sortedConversations();
  const wanted = conversations.map(itemFor);
  for (const [id, li] of items) {
    if (!state.conversations.has(id)) {
      li.remove();
      items.delete(id);
    }
  }
  // Move only what moved; moveBefore keeps keyboard focus on a link that changes place.
  wanted.forEach((li, index) => {
    const at = list.children[index] ?? null;
    if (at === li) return;
    if (list.moveBefore && li.parentNode === list) list.moveBefore(li, at);
    else list.insertBefore(li, at);
  });
  empty.hidden = conversations.length > 0;
}

