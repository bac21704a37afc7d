// The conversation list: ordered by latest activity, with preview, time and unread badge, all
// derived by the store (store/conversations.js) from `message` and `conversation_update` events.
// One entry per conversation, updated in place; an entry that changes place keeps focus.
// A DM's avatar shows the other person's presence (views/presence.js), and an entry says
// "typing…" instead of its preview while someone types there.
import { attachmentSummary } from "../attachments.js";
import { h, paintAvatar, renderKeyed, setBadge, shortTime, testid } from "../dom.js";
import { state, watch } from "../store.js";
import { conversationTitle, isMuted, otherMember, sortedConversations } from "../store/conversations.js";
import { showingOfflineCopy } from "../store/offline.js";
import { typingText, typistsIn } from "../store/typing.js";
import { userById } from "../store/users.js";
import { systemText } from "../system.js";
import { groupAvatarUser } from "./avatar.js";
import { showName } from "./badge.js";
import { bellIcon } from "./conversation_controls.js";
import { paintPresence, presenceSuffix } from "./presence.js";

const list = testid("conversation-list");
const empty = testid("conversations-empty");
let activeId = null;

export function mountSidebar() {
  watch("conversations", render);
  watch("users", render);
  watch("presence", render);
  watch("typing", render);
  // Times like "Mon" go stale as days pass: refresh them once a minute (no requests).
  setInterval(render, 60000);
}

export function setActiveConversation(id) {
  activeId = id;
  render();
}

function preview(conversation) {
  const message = conversation.last_message;
  if (!message && showingOfflineCopy(state)) return ""; // opened offline: no messages known
  if (!message) return conversation.type === "group" ? "Group created" : "Say hello 👋";
  if (message.system) return systemText(state, message.system); // "Alice added Bob"
  const words = message.content.replace(/\s+/g, " ");
  const files = message.attachments ?? [];
  const text = message.deleted ? "message deleted" : words || (files.length ? attachmentSummary(files) : "");
  if (message.sender_id === state.meId) return `You: ${text}`;
  if (conversation.type === "group") return `${userById(state, message.sender_id).display_name}: ${text}`;
  return text;
}

function create(conversation) {
  const link = h(
    "a",
    { class: "conv-item", href: `#/c/${conversation.id}`, testid: "conversation-item" },
    h("span", { class: "avatar" }),
    h(
      "span",
      { class: "conv-body" },
      h(
        "span",
        { class: "conv-top" },
        h("span", { class: "conv-name", testid: "conversation-name" }),
        h("span", { class: "visually-hidden conv-state" }), // ", muted, online" in words
        h("span", { class: "conv-muted", testid: "muted-icon", title: "Muted", "aria-hidden": "true", hidden: true }, bellIcon(true, 14)),
        h("time", { class: "conv-time", testid: "conversation-time" }),
      ),
      h(
        "span",
        { class: "conv-bottom" },
        h("span", { class: "conv-preview", testid: "conversation-preview" }),
        h("span", { class: "badge", testid: "unread-badge", "aria-hidden": "true", hidden: true }),
        h("span", { class: "visually-hidden conv-unread" }), // the badge in words
      ),
    ),
  );
  return h("li", { dataset: { conversationId: String(conversation.id) } }, link);
}

function update(li, conversation) {
  const link = li.firstChild;
  const title = conversationTitle(state, conversation);
  const isGroup = conversation.type === "group";
  const avatarEl = link.querySelector(".avatar");
  paintAvatar(avatarEl, isGroup ? groupAvatarUser(conversation) : otherMember(state, conversation), isGroup ? title : undefined);
  avatarEl.classList.toggle("avatar-group", isGroup);
  const partner = isGroup ? null : otherMember(state, conversation).id;
  paintPresence(avatarEl, partner);
  showName(link.querySelector(".conv-name"), title, isGroup ? null : otherMember(state, conversation));
  const when = conversation.last_message?.created_at ?? conversation.updated_at;
  const time = link.querySelector("time");
  time.textContent = shortTime(when);
  time.dateTime = when;
  const typists = typistsIn(state, conversation.id);
  const typing = typists.length ? (isGroup ? typingText(typists.map((id) => userById(state, id).display_name)) : "typing…") : "";
  const text = preview(conversation);
  const previewEl = link.querySelector(".conv-preview");
  previewEl.textContent = typing || text;
  previewEl.classList.toggle("typing", Boolean(typing));
  setBadge(link.querySelector(".badge"), conversation.unread_count);
  link.classList.toggle("unread", conversation.unread_count > 0);
  // Muted: still counted, quieter (no bell entry, sound or system notification).
  const muted = isMuted(conversation);
  link.classList.toggle("muted", muted);
  link.querySelector(".conv-muted").hidden = !muted;
  link.classList.toggle("active", conversation.id === activeId);
  if (conversation.id === activeId) link.setAttribute("aria-current", "page");
  else link.removeAttribute("aria-current");
  // The link is named by what it shows (WCAG's label in name: speech input says what it sees),
  // and in words what only shows as an icon, a dot or a badge.
  const online = partner === null ? "" : presenceSuffix(partner);
  setText(link.querySelector(".conv-state"), `${muted ? ", muted" : ""}${online},`);
  setText(link.querySelector(".conv-unread"), conversation.unread_count ? `, ${conversation.unread_count} unread` : "");
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function render() {
  if (state.meId === null) return;
  const conversations = sortedConversations(state);
  renderKeyed(list, conversations, (c) => c.id, create, update);
  empty.hidden = conversations.length > 0;
}
