// The conversation list: ordered by latest activity, with preview, time and unread badge, all
// derived by the store (store/conversations.js) from `message` and `conversation_update` events.
// One entry per conversation, updated in place; an entry that changes place keeps focus.
// A DM's avatar shows the other person's presence (views/presence.js), and an entry says
// "typing…" instead of its preview while someone types there.
//
// Each entry has a "More actions" button beside its link (not inside it: a button may not
// sit in a link) opening a menu to mute or unmute the conversation (the header's choices,
// views/mute_choices.js) and to mark it read, without opening it. The actions' answers and
// events (`conversation_update`, `muted` or `read`) redraw the entry, in every tab, and an open
// menu whose conversation changes is drawn again (Mark as read appears with a new message, Unmute
// once muted in another tab), the focus staying on the same item. Its keys: views/menu.js.
import { markConversationRead, unmuteConversation } from "../actions.js";
import { attachmentSummary } from "../attachments.js";
import { attempt } from "../errors.js";
import { h, paintAvatar, renderKeyed, setBadge, shortTime, svgIcon, testid } from "../dom.js";
import { state, watch } from "../store.js";
import { conversationTitle, isMuted, otherMember, sortedConversations } from "../store/conversations.js";
import { showingOfflineCopy } from "../store/offline.js";
import { typingText, typistsIn } from "../store/typing.js";
import { userById } from "../store/users.js";
import { systemText } from "../system.js";
import { groupAvatarUser } from "./avatar.js";
import { showName } from "./badge.js";
import { bellIcon } from "./conversation_controls.js";
import { menuButtonKeys, menuItemProps, menuItems, menuKeys } from "./menu.js";
import { MUTE_CHOICES, muteFor } from "./mute_choices.js";
import { paintPresence, presenceSuffix } from "./presence.js";

const list = testid("conversation-list");
const empty = testid("conversations-empty");
let activeId = null;
let openMenu = null; // {el, id, button, key}: the one entry menu open, and what it shows (menuKey)

export function mountSidebar() {
  // A press outside the menu (or its button) closes it, as the header's mute menu does.
  document.addEventListener("pointerdown", (event) => {
    if (openMenu && !openMenu.el.contains(event.target) && !openMenu.button.contains(event.target)) closeMenu();
  });
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
  const more = h(
    "button",
    { class: "icon-btn conv-more", type: "button", testid: "conversation-menu-button", "aria-haspopup": "menu", "aria-expanded": "false", onclick: () => toggleMenu(conversation.id, more) },
    svgIcon(DOTS, { size: 18 }), // three dots, one above the other
  );
  menuButtonKeys(more, () => openMenu?.button === more, () => closeMenu());
  // At desktop width the button shows (and takes presses) under a mouse, not under :hover: a tap
  // on a touch laptop's screen makes the entry :hover before it picks its target, and would land
  // on the unseen button instead of the link (tidings.css, .pointed).
  const pointed = (on) => (event) => {
    if (!on || event.pointerType === "mouse") entry.classList.toggle("pointed", on);
  };
  const entry = h("li", { class: "conv-entry", dataset: { conversationId: String(conversation.id) }, onpointerenter: pointed(true), onpointerleave: pointed(false) }, link, more);
  return entry;
}

const DOTS = "M12 8a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 6a2 2 0 1 0 0-4 2 2 0 0 0 0 4zm0 6a2 2 0 1 0 0-4 2 2 0 0 0 0 4z";

function update(li, conversation) {
  const link = li.firstChild;
  const title = conversationTitle(state, conversation);
  const more = li.querySelector(".conv-more");
  if (more.getAttribute("aria-label") !== `More actions for ${title}`) {
    more.setAttribute("aria-label", `More actions for ${title}`);
    more.title = "More actions";
  }
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
  // An entry that leaves the list (its conversation left) with the focus in it hands the focus
  // to the entry that takes its place, else the one before it: not to the page's <body>.
  const focusedEntry = list.contains(document.activeElement) ? document.activeElement.closest("li") : null;
  const place = focusedEntry ? [...list.children].indexOf(focusedEntry) : -1;
  renderKeyed(list, conversations, (c) => c.id, create, update);
  empty.hidden = conversations.length > 0;
  if (openMenu && !openMenu.el.isConnected) closeMenu(); // its conversation left the list
  else if (openMenu) redrawMenu();
  if (focusedEntry && !focusedEntry.isConnected) {
    const heir = list.children[Math.min(place, list.children.length - 1)];
    (heir?.querySelector(".conv-item") ?? testid("new-chat-button"))?.focus({ preventScroll: true });
  }
}

// An entry's menu ----------------------------------------------------------------------------

/** Open conversation `id`'s menu under its button (or close it, if it is the one open). */
function toggleMenu(id, button) {
  const same = openMenu?.id === id;
  closeMenu();
  if (same) return;
  const conversation = state.conversations.get(id);
  if (!conversation) return;
  const el = h("div", { class: "msg-menu conv-menu", role: "menu", testid: "conversation-menu", onfocusout: leaveMenu });
  menuKeys(el, button, () => closeMenu());
  fillMenu(el, conversation);
  button.after(el);
  // The list scrolls and clips what overflows it: near its bottom, the menu opens upwards.
  const room = list.getBoundingClientRect();
  if (el.getBoundingClientRect().bottom > room.bottom && button.getBoundingClientRect().top - room.top > room.bottom - button.getBoundingClientRect().bottom) el.classList.add("up");
  button.setAttribute("aria-expanded", "true");
  button.closest("li").classList.add("menu-open");
  openMenu = { el, id, button, key: menuKey(conversation) };
  menuItems(el)[0].focus({ preventScroll: true });
}

/** What an entry's menu shows of its conversation: when it changes, the menu is drawn again. */
function menuKey(conversation) {
  return `${conversationTitle(state, conversation)}|${isMuted(conversation)}|${conversation.unread_count > 0}`;
}

/** Draw the open menu again if its conversation changed, the focus on the same item (by test
 * id) or else, if it was in the menu, on the first. */
function redrawMenu() {
  const conversation = state.conversations.get(openMenu.id);
  if (!conversation || menuKey(conversation) === openMenu.key) return;
  openMenu.key = menuKey(conversation);
  const { el } = openMenu;
  const focused = el.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  fillMenu(el, conversation);
  if (focused === null) return;
  const items = menuItems(el);
  (items.find((item) => item.dataset.testid === focused) ?? items[0]).focus({ preventScroll: true });
}

/** The menu's items for `conversation`, in `el` (in place of any it had). */
function fillMenu(el, conversation) {
  const id = conversation.id;
  const item = (label, testId, what, run) => h("button", menuItemProps({ class: "menu-item", testid: testId, text: label, onclick: () => choose(what, run) }));
  const muting = "Couldn't change the conversation's notifications";
  el.setAttribute("aria-label", `Actions for ${conversationTitle(state, conversation)}`);
  // Muted: only "Unmute" (as the conversation lists of Slack, WhatsApp or Telegram offer).
  // Else the header's four choices, grouped under what they are for ("Until I unmute").
  const labelId = `conv-menu-mute-${id}`;
  const mute = isMuted(conversation)
    ? item("Unmute", "unmute", muting, () => unmuteConversation(id))
    : h(
        "div",
        { role: "group", class: "conv-menu-group", "aria-labelledby": labelId },
        h("div", { class: "conv-menu-label", id: labelId, text: "Mute notifications" }),
        MUTE_CHOICES.map((choice) => item(choice.label, choice.testId, muting, () => muteFor(id, choice))),
      );
  const read = conversation.unread_count > 0 ? item("Mark as read", "mark-read", "Couldn't mark the conversation read", () => markConversationRead(id)) : null;
  el.replaceChildren(...[mute, read].filter(Boolean));
}

function closeMenu() {
  if (!openMenu) return;
  const { el, button } = openMenu;
  openMenu = null;
  el.remove();
  button.setAttribute("aria-expanded", "false");
  button.closest("li")?.classList.remove("menu-open");
}

/** The focus leaving the menu (and its button) for elsewhere closes it. (No new focus, as when a
 * click in Safari does not focus the item pressed, leaves it open: the click has yet to come.) */
function leaveMenu(event) {
  const to = event.relatedTarget;
  if (openMenu && to && !openMenu.el.contains(to) && to !== openMenu.button) closeMenu();
}

async function choose(what, action) {
  const button = openMenu?.button;
  button?.focus({ preventScroll: true });
  closeMenu();
  await attempt(what, action);
}
