// The open conversation: its history (older pages load on scrolling up), live messages, and the
// composer. Opening a conversation, or doing something in it, marks it read.
//
// A message sent here shows at once as a pending copy, under a client id that its POST answer
// and its `message` event both carry; whichever comes first turns the copy into the message, in
// place (the same element: see `messageKey` in store/messages.js), and it shows once. A
// message's element is redrawn when what it shows changed (its record, its grouping with the
// one before, its sender), not at every change to the store.
//
// Each message has a menu (the "⋯" button of its action bar, or a long press on a touch
// screen): reply, react, edit (ours: in place, Enter saves, Escape cancels) and delete (ours, or
// anyone's in a group we administer). The bar shows under a mouse, with the keyboard's focus in
// the message, or a menu of it open (tidings.css, .pointed); the menu and the reaction picker
// have the keys of every menu (views/menu.js). A reply shows its quote; clicking the quote goes
// to the original, loading the history around it if it is not loaded. Reactions show as chips under
// the message: clicking one adds or takes back ours.
//
// A conversation opened with unread messages starts at the first of them, under a "New
// messages" divider, with the history around it; the loaded run may then stop short of the
// newest message (store/messages.js), and newer pages load on scrolling down. "Jump to latest"
// shows when the newest message is out of view.
//
// Files go with a message through the tray above the composer, and a message's attachments are
// drawn under its bubble: views/attachments.js.
//
// A group's system lines ("Alice added Bob") are drawn as centred lines, in words from the users
// map (system.js), with no menu. A group deleted while open, or left (or removed from), closes
// with a short notice on the empty pane; the group's members panel is views/members.js.
//
// Attention (issue 14): the header shows the DM partner's presence ("online", "last seen 5 min
// ago") or how many of a group are online (views/presence.js); "alice is typing…" shows above
// the composer (views/typing.js) and our own typing is signalled as the draft changes
// (ephemeral.js); "Seen" / "Seen by N" is an item after our last message (views/receipts.js).
// The header's bell mutes the conversation, and a blocked DM's composer is off with a line
// saying why (views/conversation_controls.js).
import { deleteMessage, discardMessage, editMessage, markConversationRead, retryMessage, sendMessage, setReaction } from "../actions.js";
import { attempt, reportError, toast } from "../errors.js";
import { clockTime, dayKey, dayLabel, fullTime, h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { loadAfter, loadAround, loadEdits, loadLatest, loadNewer, loadOlder } from "../loaders.js";
import { state, watch } from "../store.js";
import { conversationTitle, otherMember, roleOf } from "../store/conversations.js";
import { hasNewer, isShown, messageKey, pendingMessages, sortedMessages, threadOf } from "../store/messages.js";
import { userById } from "../store/users.js";
import { renderMessage } from "../format.js";
import { go } from "../router.js";
import { systemText } from "../system.js";
import { attachmentCountLabel } from "../attachments.js";
import { composerStatus, discardTray, drawMessageAttachments, mountAttachments, takeAttachments } from "./attachments.js";
import { groupAvatarUser } from "./avatar.js";
import { showName } from "./badge.js";
import { controlsKey, drawControls, mountControls } from "./conversation_controls.js";
import { attachMentionAutocomplete } from "./mentions.js";
import { draftChanged, draftSent, setOpenConversation } from "../ephemeral.js";
import { drawHeaderPresence } from "./presence.js";
import { closeSeenList, createReceipt, receiptItem, updateReceipt } from "./receipts.js";
import { mountTyping, showTypingIn } from "./typing.js";
import { menuButtonKeys, menuItemProps, menuKeys } from "./menu.js";

const NEAR_TOP_PX = 120;
const NEAR_BOTTOM_PX = 120;
const GROUP_WITHIN_MS = 5 * 60000;
const LONG_PRESS_MS = 500;
const LONG_PRESS_SLOP_PX = 10;
const HIGHLIGHT_MS = 2000;
export const REACTION_EMOJI = ["👍", "❤️", "😂", "😮", "😢", "🎉", "🙏", "👀"];

const view = testid("conversation-view");
const scroller = testid("message-list");
const itemsEl = scroller.querySelector(".message-items");
const historyStatus = testid("history-status");
const form = testid("composer");
const input = testid("composer-input");
const sendButton = testid("send-button");
const titleEl = testid("conversation-title");
// A DM's name in the header is a button: the other person's profile card (profile.js).
const titleButton = h("button", { class: "title-btn", type: "button", title: "Show profile", testid: "conversation-title-button" });
const membersEl = testid("conversation-members");
const avatarEl = testid("conversation-avatar");
const replyBar = testid("reply-bar");
const replyName = testid("reply-bar-name");
const replyExcerpt = testid("reply-bar-excerpt");
const jumpButton = testid("jump-latest");
const membersButton = testid("members-button"); // a group's members panel (views/members.js)
const presenceEl = h("p", { class: "presence-line", testid: "conversation-presence" }); // under the members line
membersEl.after(presenceEl);

let openId = null;
let unreadAfter = null; // the read position when the open conversation was opened with unread
let replyTo = null; // the message id the composer answers
let editingId = null; // the message id being edited in place
let openPopup = null; // {el, messageId, kind: "menu" | "picker", opener}
let drawnHeader = null; // what the header shows (see headerKey)
const drawnItems = new WeakMap(); // message element -> what it was drawn from (see update)
const drawnMeta = new WeakMap(); // message element -> the state its bottom line shows
const markedUpTo = new Map(); // conversation id -> last message id we asked to mark read

export function mountConversation() {
  watch("messages", (conversationId) => {
    // A message arriving here is not read until the person does something in the
    // conversation (below): an open page is not a person looking at it.
    if (conversationId === openId) render();
  });
  watch("conversations", () => {
    if (openId !== null && !state.conversations.has(openId) && state.departed.has(openId)) {
      leaveDeparted(openId);
      return;
    }
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
  // Presence changes, and "last seen 5 min ago" ages.
  const drawPresence = () => openId !== null && drawHeaderPresence(presenceEl, avatarEl, state.conversations.get(openId));
  watch("presence", drawPresence);
  setInterval(drawPresence, 60000);
  watch("receipts", (conversationId) => {
    if (conversationId === openId) render();
  });
  mountTyping(replyBar);
  // Whom we block: a blocked DM's Unblock button (views/conversation_controls.js).
  watch("blocks", () => {
    if (openId !== null && headerKey() !== drawnHeader) renderHeader();
  });
  watch("resynced", () => {
    if (openId === null) return;
    render();
    if (threadOf(state, openId).stale) loadLatestAndFill(openId);
  });

  scroller.addEventListener("scroll", () => {
    if (scroller.scrollTop < NEAR_TOP_PX) loadOlderAndFill();
    if (nearBottom() && openId !== null && hasNewer(state, openId)) loadNewerAndFill();
    showJumpButton();
  });
  jumpButton.addEventListener("click", () => jumpToLatest());
  testid("reply-cancel").addEventListener("click", () => {
    setReply(null);
    input.focus();
  });
  itemsEl.addEventListener("click", onListClick);
  mountLongPress();
  document.addEventListener("pointerdown", (event) => {
    if (openPopup && !openPopup.el.contains(event.target) && !openPopup.opener?.contains(event.target)) closePopup();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && openPopup) {
      event.preventDefault();
      closePopup({ refocus: true });
    }
  });
  input.addEventListener("input", () => {
    updateSendButton();
    if (openId !== null) draftChanged(openId, input.value);
  });
  mountControls({ form, input, sendButton });
  // Files picked, dropped on the pane or pasted go in the tray above the composer.
  mountAttachments({
    pane: view,
    input,
    list: itemsEl,
    accepting: () => openId !== null && !form.hidden,
    onChange: () => updateSendButton(),
  });
  // "@al" offers the open conversation's members (before the Enter below: it listens first).
  attachMentionAutocomplete(input, () =>
    (state.conversations.get(openId)?.member_ids ?? []).filter((id) => id !== state.meId).map((id) => userById(state, id)),
  );
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    } else if (event.key === "Escape" && replyTo !== null && !openPopup) {
      setReply(null);
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
  departedNotice.hidden = true;
  if (changedConversation) leaveDraft();
  openId = id;
  setOpenConversation(id);
  showTypingIn(id);
  if (changedConversation) {
    closeSeenList();
    input.value = "";
    discardTray();
    sendButton.disabled = true;
    closePopup();
    editingId = null;
    setReply(null);
    unreadAfter = firstUnreadAfter(state.conversations.get(id));
  }
  renderHeader();
  render({ toBottom: true });
  if (changedConversation && unreadAfter !== null) openAtUnread(id);
  else if (!threadOf(state, id).loaded || threadOf(state, id).stale || (changedConversation && hasNewer(state, id))) loadLatestAndFill(id);
  markRead();
  if (changedConversation && matchMedia("(pointer: fine)").matches) input.focus({ preventScroll: true });
}

export function closeConversation() {
  leaveDraft();
  openId = null;
  setOpenConversation(null);
  showTypingIn(null);
  discardTray();
  closePopup();
  editingId = null;
  setReply(null);
}

/** We leave the open conversation's draft: if we were typing there, we no longer are. */
function leaveDraft() {
  if (openId !== null && input.value.trim()) draftChanged(openId, "");
}

// The empty pane's notice: why the open conversation closed.
const departedNotice = testid("empty-state").appendChild(h("p", { class: "departed-notice", role: "status", testid: "departed-notice", hidden: true }));

/** The open conversation is gone (deleted, or we are no longer in it): back to the empty pane,
 * saying why. */
function leaveDeparted(id) {
  const { reason, title } = state.departed.get(id);
  go("#/");
  departedNotice.textContent = reason === "deleted" ? `“${title}” was deleted.` : `You are no longer in “${title}”.`;
  departedNotice.hidden = false;
}

/** Our read position, if the conversation has unread messages (from others, after it). */
function firstUnreadAfter(conversation) {
  if (!conversation || conversation.unread_count === 0 || !conversation.last_message) return null;
  return conversation.last_read_message_id < conversation.last_message.id ? conversation.last_read_message_id : null;
}

/** What the header (and whether senders are named) depends on in the open conversation. */
function headerKey() {
  const conversation = state.conversations.get(openId);
  if (!conversation) return `${openId}:none`;
  return JSON.stringify([openId, conversation.type, conversation.name, conversation.avatar_url, conversation.member_ids, controlsKey(conversation)]);
}

function renderHeader() {
  drawnHeader = headerKey();
  const conversation = state.conversations.get(openId);
  if (!conversation) {
    titleEl.textContent = "Conversation not found";
    showProfileFrom(null);
    membersEl.textContent = "It may have been removed, or you left it.";
    form.hidden = true;
    membersButton.hidden = true;
    drawHeaderPresence(presenceEl, avatarEl, null);
    drawControls(null);
    return;
  }
  form.hidden = false;
  const title = conversationTitle(state, conversation);
  const isGroup = conversation.type === "group";
  showTitle(title, isGroup ? null : otherMember(state, conversation));
  paintAvatar(avatarEl, isGroup ? groupAvatarUser(conversation) : otherMember(state, conversation), isGroup ? title : undefined);
  avatarEl.classList.toggle("avatar-group", isGroup);
  showProfileFrom(isGroup ? null : otherMember(state, conversation));
  const other = isGroup ? null : otherMember(state, conversation);
  membersEl.textContent = isGroup
    ? conversation.member_ids.map((id) => (id === state.meId ? "You" : userById(state, id).display_name)).join(", ")
    : other.deleted
      ? "This account was deleted: its messages stay, nothing more can be sent."
      : `@${other.username}`;
  // A DM with a deleted account is read-only (the server refuses sends: 409 user_deleted).
  form.hidden = Boolean(other?.deleted);
  input.placeholder = `Message ${title}`;
  membersButton.hidden = !isGroup;
  membersButton.dataset.conversationId = String(conversation.id);
  drawHeaderPresence(presenceEl, avatarEl, conversation);
  drawControls(conversation); // the mute menu; a blocked DM's composer
}

/** The header's title: a group's name, or a DM's other person (`user`) as a button. */
function showTitle(title, user) {
  if (!user) {
    showName(titleEl, title, null);
    return;
  }
  if (titleEl.firstChild !== titleButton || titleEl.childNodes.length !== 1) titleEl.replaceChildren(titleButton);
  showName(titleButton, title, user);
}

/** In a DM the header's name (the keyboard's way, named by what it shows), and with a pointer
 * its avatar (decoration to screen readers) and title, open the other person's profile card. */
function showProfileFrom(user) {
  for (const el of [avatarEl, titleEl, titleButton]) {
    if (user) el.dataset.profileUserId = String(user.id);
    else delete el.dataset.profileUserId;
  }
}

// History -------------------------------------------------------------------------------------

async function loadLatestAndFill(id) {
  await loadLatest(id);
  if (id !== openId) return;
  render({ toBottom: true });
  fillViewport();
}

/** Open at the first unread message: the history around it, unless what is loaded has it. */
async function openAtUnread(id) {
  const after = unreadAfter;
  const jumps = jumpsStarted; // a jump to a message meanwhile (a search result) wins
  let t = threadOf(state, id);
  if (t.loaded && t.stale) {
    await loadLatest(id);
    t = threadOf(state, id);
  }
  const shown = sortedMessages(state, id);
  const covered = t.loaded && !t.stale && shown.length > 0 && (shown[0].id <= after || !t.hasMore);
  if (!covered) {
    if (after > 0) await loadAround(id, after);
    else await loadAfter(id, 0);
  }
  if (id !== openId) return;
  render();
  if (jumps !== jumpsStarted) return;
  const divider = itemsEl.querySelector("[data-testid=unread-divider]");
  if (divider) divider.scrollIntoView({ block: "start" });
  else scroller.scrollTop = scroller.scrollHeight;
  fillViewport();
  showJumpButton();
}

let jumpsStarted = 0; // goToMessage calls so far (see openAtUnread)

async function loadNewerAndFill() {
  if (openId === null) return;
  await loadNewer(openId);
}

/** Show the newest messages: the latest page if the loaded run stops short of them. */
async function jumpToLatest() {
  if (openId === null) return;
  const id = openId;
  if (hasNewer(state, id)) {
    await loadLatest(id);
    if (id !== openId) return;
  }
  render({ toBottom: true });
  showJumpButton();
}

/** Scroll to message `messageId` and highlight it, loading the history around it if needed. */
async function goToMessage(messageId) {
  if (openId === null) return;
  jumpsStarted += 1;
  const id = openId;
  if (!isShown(state, id, messageId)) {
    await loadAround(id, messageId);
    if (id !== openId) return;
    render();
  }
  const li = itemsEl.querySelector(`[data-message-id="${messageId}"]`);
  if (!li) {
    toast("Couldn't find the original message: it is not in this conversation's history.");
    return;
  }
  li.scrollIntoView({ block: "center" });
  li.classList.remove("highlight");
  void li.offsetWidth; // restart the animation if it is already highlighted
  li.classList.add("highlight");
  setTimeout(() => li.classList.remove("highlight"), HIGHLIGHT_MS);
  showJumpButton();
}

/** Open conversation `conversationId` (through the router) at message `messageId`, shown as a
 * quote's original is: loaded with the history around it, in view, highlighted (a search result,
 * a mention in the bell). */
export async function showMessage(conversationId, messageId) {
  const hash = `#/c/${conversationId}`;
  if (location.hash !== hash) {
    // app.js listened first: by the time this hears the change, the conversation is open.
    const routed = new Promise((resolve) => window.addEventListener("hashchange", resolve, { once: true }));
    go(hash);
    await routed;
  }
  if (conversationId === openId) await goToMessage(messageId);
}

function showJumpButton() {
  jumpButton.hidden = openId === null || (!hasNewer(state, openId) && nearBottom());
}

async function loadOlderAndFill() {
  if (openId === null) return;
  const id = openId;
  await loadOlder(id);
  if (id === openId) fillViewport();
}

/** Keep loading older pages while the history does not fill the pane (nothing to scroll). */
function fillViewport() {
  if (openId === null) return;
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

/** The list's items, oldest first: day dividers, the "New messages" divider, messages, then our
 * pending sends (not after a run that stops short of the newest message). */
function listItems() {
  const items = [];
  let previous = null;
  let unreadShown = unreadAfter === null;
  const pending = hasNewer(state, openId) ? [] : pendingMessages(state, openId);
  for (const message of [...sortedMessages(state, openId), ...pending]) {
    const sameDay = previous && dayKey(previous.created_at) === dayKey(message.created_at);
    if (!sameDay) items.push({ key: `day:${dayKey(message.created_at)}`, day: message.created_at });
    if (!unreadShown && message.id > unreadAfter && message.sender_id !== state.meId && !message.system) {
      items.push({ key: "unread", unread: true });
      unreadShown = true;
    }
    const grouped =
      sameDay &&
      !message.system &&
      !previous.system &&
      previous.sender_id === message.sender_id &&
      Date.parse(message.created_at) - Date.parse(previous.created_at) < GROUP_WITHIN_MS;
    items.push({ key: messageKey(message), message, grouped });
    previous = message;
  }
  // "Seen" after our last message (if it is loaded: not in a run short of the newest).
  const receipt = pending.length || hasNewer(state, openId) ? null : receiptItem(openId);
  const at = receipt ? items.findIndex((item) => item.message?.id === receipt.receipt.messageId) : -1;
  if (at >= 0) items.splice(at + 1, 0, receipt);
  return items;
}

function render({ toBottom = false } = {}) {
  if (openId === null) return;
  // A run that stops short of the newest message grows at the bottom as pages load: it keeps
  // what is in view where it is.
  const stick = toBottom || (nearBottom() && !hasNewer(state, openId));
  const anchor = stick ? null : scrollAnchor();
  const t = threadOf(state, openId);
  renderKeyed(itemsEl, listItems(), (item) => item.key, create, update);
  const count = t.messages.size;
  if (t.error) historyStatus.textContent = t.error;
  else if (t.loading) historyStatus.textContent = count && t.gapAfter === null ? "Loading earlier messages…" : "Loading messages…";
  else if (t.hasMore) historyStatus.textContent = "Scroll up for earlier messages";
  else historyStatus.textContent = count ? "This is the beginning of the conversation." : "No messages yet. Say hello!";
  if (stick) scroller.scrollTop = scroller.scrollHeight;
  else if (anchor?.el.isConnected) scroller.scrollTop += anchor.el.getBoundingClientRect().top - anchor.top;
  if (replyTo !== null) setReply(replyTo); // the message may have been edited or deleted
  if (openPopup && !itemsEl.querySelector(`[data-message-id="${openPopup.messageId}"]`)?.contains(openPopup.el)) closePopup();
  showJumpButton();
}

function create(item) {
  // Dividers are items of the list like the messages (a list holds only items), read as words.
  if (item.day) return h("li", { class: "day-divider" }, h("span", { text: dayLabel(item.day) }));
  if (item.unread) return h("li", { class: "unread-divider", testid: "unread-divider" }, h("span", { text: "New messages" }));
  if (item.receipt) return createReceipt(item);
  if (item.message.system) return h("li", { class: "system-line", testid: "system-line" }, h("span", { class: "system-text" }));
  const own = item.message.sender_id === state.meId;
  const more = h("button", {
    class: "msg-action",
    type: "button",
    testid: "message-menu-button",
    dataset: { action: "menu" },
    "aria-label": "Message actions",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    title: "More",
    text: "⋯",
  });
  menuButtonKeys(more, () => openPopup?.opener === more, () => closePopup());
  return h(
    "li",
    { class: `msg${own ? " own" : ""}`, testid: "message", onpointerenter: pointed(true), onpointerleave: pointed(false) },
    own ? null : h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }),
    h(
      "div",
      { class: "msg-body" },
      own ? null : h("button", { class: "msg-sender", type: "button", testid: "message-sender", title: "Show profile", hidden: true }),
      h(
        "div",
        { class: "bubble" },
        h("div", { class: "msg-text", testid: "message-text" }),
        h("button", { class: "msg-edited", type: "button", testid: "message-edited", hidden: true, text: "(edited)", dataset: { action: "edits" }, "aria-haspopup": "dialog" }),
      ),
      h("span", { class: "msg-time" }),
    ),
    h(
      "div",
      { class: "msg-actions", hidden: true },
      h("button", { class: "msg-action", type: "button", dataset: { action: "picker" }, "aria-label": "React", title: "React", text: "☺" }),
      h("button", { class: "msg-action", type: "button", dataset: { action: "reply" }, "aria-label": "Reply", title: "Reply", text: "↩" }),
      more,
    ),
  );
}

/** A message's action bar shows (and takes presses) under a mouse, not under :hover: a tap on a
 * touch laptop's screen makes the message :hover before it picks its target, and would land on
 * an unseen button of the bar instead of what lies under it (tidings.css, .pointed). */
function pointed(on) {
  return (event) => {
    if (!on || event.pointerType === "mouse") event.currentTarget.classList.toggle("pointed", on);
  };
}

/** Who reacted with each emoji, as the chips' tooltips name them. */
function reactorNames(message) {
  return (message.reactions ?? []).map((r) => r.user_ids.map((id) => (id === state.meId ? "You" : (state.users.get(id)?.display_name ?? "Someone"))).join(", "));
}

/** Whether we may delete `message`: ours, or anyone's in a group we administer. */
function canDelete(message) {
  if (message.id === undefined || message.deleted || message.system) return false;
  if (message.sender_id === state.meId) return true;
  const conversation = state.conversations.get(message.conversation_id);
  return conversation?.type === "group" && ["admin", "owner"].includes(roleOf(conversation, state.meId));
}

/** Draw a message (or our pending copy of one) into its element, whatever it showed before;
 * nothing to do if what it was drawn from is the same. Records are replaced when they change
 * (store/messages.js), users too (store/users.js); a pending copy's error changes in place. */
function update(li, item) {
  if (item.receipt) {
    updateReceipt(li, item);
    return;
  }
  if (item.day || item.unread) return;
  if (item.message.system) {
    drawSystemLine(li, item.message);
    return;
  }
  const { message, grouped } = item;
  const drawn = {
    message,
    error: message.error,
    waiting: message.waiting,
    grouped: Boolean(grouped),
    sender: state.users.get(message.sender_id),
    group: state.conversations.get(message.conversation_id)?.type === "group",
    quoted: message.reply_to ? state.users.get(message.reply_to.sender_id) : null,
    reactors: reactorNames(message).join("|"),
    editing: message.id !== undefined && message.id === editingId && !message.deleted,
    deletable: canDelete(message),
    members: state.conversations.get(message.conversation_id)?.member_ids, // who @name can be
  };
  const before = drawnItems.get(li);
  if (before && Object.keys(drawn).every((k) => before[k] === drawn[k])) return;
  drawnItems.set(li, drawn);
  const pending = message.id === undefined;
  li.classList.toggle("grouped", Boolean(grouped));
  li.classList.toggle("pending", pending);
  li.classList.toggle("failed", pending && Boolean(message.error));
  li.classList.toggle("deleted", Boolean(message.deleted));
  li.classList.toggle("editing", drawn.editing);
  if (pending) {
    li.dataset.pending = "true";
    delete li.dataset.messageId;
  } else {
    delete li.dataset.pending;
    li.dataset.messageId = String(message.id);
  }
  const sender = userById(state, message.sender_id);
  const avatarEl = li.querySelector(":scope > .avatar");
  if (avatarEl) {
    paintAvatar(avatarEl, sender);
    avatarEl.dataset.profileUserId = String(sender.id); // opens their profile card (profile.js)
  }
  const senderEl = li.querySelector(".msg-sender");
  if (senderEl) {
    senderEl.hidden = !drawn.group;
    showName(senderEl, sender.display_name, sender);
    senderEl.dataset.profileUserId = String(sender.id);
  }
  const bubble = li.querySelector(".bubble");
  drawQuote(bubble, message.reply_to);
  const text = li.querySelector(".msg-text");
  // Links, @mentions of members and light formatting, built as nodes (format.js): never HTML.
  const members = (drawn.members ?? []).map((id) => userById(state, id));
  text.replaceChildren(renderMessage(message.content, { members, me: state.meId }));
  text.hidden = Boolean(message.deleted) || drawn.editing;
  drawDeleted(bubble, Boolean(message.deleted));
  // Images, videos and files under the bubble; a message of attachments alone has no bubble.
  drawMessageAttachments(bubble, message.attachments);
  bubble.hidden = !message.content && !message.reply_to && !message.deleted && !drawn.editing && Boolean(message.attachments?.length);
  const editedEl = li.querySelector(".msg-edited");
  editedEl.hidden = !message.edited_at || Boolean(message.deleted) || drawn.editing;
  if (message.edited_at) editedEl.title = `Edited ${fullTime(message.edited_at)}: show the earlier versions`;
  drawEditor(bubble, message, drawn.editing);
  drawReactions(li, message);
  const actions = li.querySelector(".msg-actions");
  actions.hidden = pending || Boolean(message.deleted) || drawn.editing;
  if (openPopup?.messageId === message.id && actions.hidden) closePopup();
  // The line under the bubble changes with the message's state (not at every render, which
  // would take the focus off a Retry button).
  const meta = pending ? `${message.waiting ? "waiting" : "sending"}:${message.error ?? ""}` : `sent:${message.created_at}`;
  if (drawnMeta.get(li) !== meta) {
    drawnMeta.set(li, meta);
    li.querySelector(".msg-body").lastChild.replaceWith(pending ? stateLine(message) : timeLine(message));
  }
}

/** A system line: its words (from the users map, so a rename shows) and its time as a tooltip. */
function drawSystemLine(li, message) {
  const text = systemText(state, message.system);
  const span = li.firstChild;
  if (span.textContent !== text) span.textContent = text;
  li.title = fullTime(message.created_at);
}

/** A reply's quote, first in its bubble: the original's sender and start, or that it is deleted. */
function drawQuote(bubble, quote) {
  let el = bubble.querySelector(":scope > .msg-quote");
  if (!quote) {
    el?.remove();
    return;
  }
  if (!el) {
    // Named by what it shows (WCAG's label in name), after "Reply to" for screen readers.
    el = h(
      "button",
      { class: "msg-quote", type: "button", testid: "message-quote", title: "Show the original message", dataset: { action: "quote" } },
      h("span", { class: "visually-hidden", text: "Reply to " }),
      h("span", { class: "quote-sender" }),
      h("span", { class: "quote-excerpt" }),
    );
    bubble.prepend(el);
  }
  el.dataset.quoteId = String(quote.id);
  const name = userById(state, quote.sender_id).display_name;
  el.querySelector(".quote-sender").textContent = name;
  const excerpt = quote.deleted ? "message deleted" : quote.excerpt || (quote.attachment_count ? attachmentCountLabel(quote.attachment_count) : "");
  el.querySelector(".quote-excerpt").textContent = excerpt;
  el.classList.toggle("quote-deleted", quote.deleted);
}

function drawDeleted(bubble, deleted) {
  let el = bubble.querySelector(":scope > .msg-deleted");
  if (!deleted) {
    el?.remove();
    return;
  }
  if (!el) bubble.append(h("span", { class: "msg-deleted", testid: "message-deleted", text: "message deleted" }));
}

/** The editor in place of the text while the message is edited (kept as it is while it is). */
function drawEditor(bubble, message, editing) {
  let el = bubble.querySelector(":scope > .msg-editor");
  if (!editing) {
    el?.remove();
    return;
  }
  if (el) return;
  const area = h("textarea", { class: "msg-edit-input", testid: "edit-input", rows: 1, maxlength: 4000, "aria-label": "Edit message" });
  area.value = message.content;
  const save = () => saveEdit(message.conversation_id, message.id, area);
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      stopEditing();
    }
  });
  el = h(
    "div",
    { class: "msg-editor" },
    area,
    h(
      "div",
      { class: "msg-editor-foot" },
      h("span", { class: "msg-editor-hint", text: "Enter to save · Escape to cancel" }),
      h("button", { class: "link-btn", type: "button", testid: "edit-cancel", text: "Cancel", onclick: () => stopEditing() }),
      h("button", { class: "link-btn", type: "button", testid: "edit-save", text: "Save", onclick: save }),
    ),
  );
  bubble.append(el);
  area.focus();
  area.setSelectionRange(area.value.length, area.value.length);
}

/** The reaction chips under the bubble, one per emoji, ours highlighted. */
function drawReactions(li, message) {
  const reactions = message.deleted || message.id === undefined ? [] : (message.reactions ?? []);
  let list = li.querySelector(".reactions");
  if (!reactions.length) {
    list?.remove();
    return;
  }
  if (!list) {
    list = h("ul", { class: "reactions", testid: "reactions", "aria-label": "Reactions" });
    li.querySelector(".msg-body").lastChild.before(list);
  }
  const names = reactorNames(message);
  renderKeyed(
    list,
    reactions.map((r, i) => ({ ...r, names: names[i] })),
    (r) => r.emoji,
    (r) => h("li", {}, h("button", { class: "reaction-chip", type: "button", testid: "reaction", dataset: { action: "chip", emoji: r.emoji } }, h("span", { class: "reaction-emoji" }), h("span", { class: "reaction-count" }))),
    (el, r) => {
      const chip = el.firstChild;
      const mine = r.user_ids.includes(state.meId);
      chip.querySelector(".reaction-emoji").textContent = r.emoji;
      chip.querySelector(".reaction-count").textContent = String(r.count);
      chip.setAttribute("aria-pressed", String(mine));
      chip.classList.toggle("mine", mine);
      chip.title = `${r.names} reacted with ${r.emoji}`;
      chip.setAttribute("aria-label", `${r.emoji} ${r.count}: ${r.names}${mine ? " (click to take yours back)" : ""}`);
    },
  );
}

function timeLine(message) {
  return h("time", { class: "msg-time", datetime: message.created_at, title: fullTime(message.created_at), text: clockTime(message.created_at) });
}

/** A pending send's state (outbox.js): on its way, waiting for the network, or refused. */
function stateLine(pending) {
  if (!pending.error) {
    return h("span", { class: "msg-time", testid: "message-state", text: pending.waiting ? "Waiting to send" : "Sending…" });
  }
  return h(
    "span",
    { class: "msg-time", testid: "message-state" },
    `Not sent: ${pending.error.replace(/\.$/, "")}. `,
    h("button", { class: "link-btn", type: "button", text: "Retry", onclick: () => retryMessage(pending.conversation_id, pending.client_id) }),
    " · ",
    h("button", { class: "link-btn", type: "button", text: "Delete", onclick: () => discardMessage(pending.conversation_id, pending.client_id) }),
  );
}

// Acting on a message --------------------------------------------------------------------------

/** The loaded message an element in the list shows. */
function messageOf(el) {
  const li = el.closest("[data-message-id]");
  return li ? threadOf(state, openId).messages.get(Number(li.dataset.messageId)) : undefined;
}

function onListClick(event) {
  const button = event.target.closest("[data-action]");
  if (!button || !itemsEl.contains(button)) return;
  const message = messageOf(button);
  if (!message) return;
  const action = button.dataset.action;
  if (action === "quote") goToMessage(Number(button.dataset.quoteId));
  else if (action === "chip") {
    const emoji = button.dataset.emoji;
    const mine = message.reactions.find((r) => r.emoji === emoji)?.user_ids.includes(state.meId);
    react(message, emoji, !mine);
  } else if (action === "menu") togglePopup("menu", message, button);
  else if (action === "picker") togglePopup("picker", message, button);
  else if (action === "edits") togglePopup("edits", message, button);
  else if (action === "reply") startReply(message);
}

function react(message, emoji, on) {
  setReaction(message.conversation_id, message.id, emoji, on).catch((error) => reportError(on ? "Couldn't add your reaction" : "Couldn't remove your reaction", error));
}

/** Open the message's menu (or its reaction picker), or close it if it is the one open. */
function togglePopup(kind, message, opener) {
  const same = openPopup?.kind === kind && openPopup.messageId === message.id;
  closePopup();
  if (same) return;
  const li = itemsEl.querySelector(`[data-message-id="${message.id}"]`);
  if (!li) return;
  const el = kind === "menu" ? menuFor(message) : kind === "picker" ? pickerFor(message) : historyFor(message);
  li.append(el);
  if (kind !== "edits" && opener) {
    menuKeys(el, opener, () => closePopup());
    el.addEventListener("focusout", leavePopup);
  }
  openPopup = { el, kind, messageId: message.id, opener };
  opener?.setAttribute("aria-expanded", "true");
  li.classList.add("popup-open");
  (el.querySelector("button") ?? el).focus({ preventScroll: true });
}

function closePopup({ refocus = false } = {}) {
  if (!openPopup) return;
  const { el, opener } = openPopup;
  openPopup = null;
  el.closest(".msg")?.classList.remove("popup-open");
  el.remove();
  opener?.setAttribute("aria-expanded", "false");
  if (refocus && opener?.isConnected) opener.focus({ preventScroll: true });
}

/** The focus leaving a menu (and its button) for elsewhere closes it. */
function leavePopup(event) {
  const to = event.relatedTarget;
  if (openPopup && to && !openPopup.el.contains(to) && to !== openPopup.opener) closePopup();
}

function menuFor(message) {
  const item = (label, testId, run, danger = false) =>
    h(
      "button",
      menuItemProps({
        class: `menu-item${danger ? " danger" : ""}`,
        testid: testId,
        text: label,
        onclick: () => {
          closePopup();
          run();
        },
      }),
    );
  const own = message.sender_id === state.meId;
  const opener = openPopupOpener(message);
  return h(
    "div",
    { class: "msg-menu", role: "menu", testid: "message-menu", "aria-label": "Message actions" },
    item("Reply", "menu-reply", () => startReply(message)),
    item("React", "menu-react", () => togglePopup("picker", message, opener)),
    own ? item("Edit", "menu-edit", () => startEditing(message)) : null,
    canDelete(message) ? item("Delete", "menu-delete", () => confirmDelete(message), true) : null,
  );
}

function openPopupOpener(message) {
  return itemsEl.querySelector(`[data-message-id="${message.id}"] [data-action=menu]`);
}

function pickerFor(message) {
  return h(
    "div",
    { class: "reaction-picker", role: "menu", testid: "reaction-picker", "aria-label": "React" },
    REACTION_EMOJI.map((emoji) =>
      h(
        "button",
        menuItemProps({
          class: "picker-emoji",
          "aria-label": `React with ${emoji}`,
          title: emoji,
          text: emoji,
          onclick: () => {
            closePopup();
            const current = threadOf(state, message.conversation_id).messages.get(message.id) ?? message;
            const mine = current.reactions.find((r) => r.emoji === emoji)?.user_ids.includes(state.meId);
            react(current, emoji, !mine);
          },
        }),
      ),
    ),
  );
}

/** The message's earlier versions, newest first under its current text (GET …/edits). */
function historyFor(message) {
  const list = h("ol", { class: "edit-history-list", testid: "edit-history-list" });
  const status = h("p", { class: "edit-history-status", role: "status", text: "Loading…" });
  const version = (label, time, text) =>
    h("li", { testid: "edit-history-version" }, h("span", { class: "edit-history-time", text: `${label} ${fullTime(time)}` }), h("span", { class: "edit-history-text", text }));
  loadEdits(message.conversation_id, message.id).then(
    (history) => {
      status.remove();
      const earlier = [...history.edits].reverse();
      list.replaceChildren(
        version("Now, since", message.edited_at ?? message.created_at, message.content),
        ...earlier.map((edit) => version("Until", edit.replaced_at, edit.content)),
      );
    },
    (error) => {
      status.textContent = "Couldn't load the earlier versions.";
      reportError("Couldn't load the edit history", error);
    },
  );
  return h("div", { class: "msg-menu edit-history", role: "dialog", tabindex: "-1", testid: "edit-history", "aria-label": "Edit history" }, h("strong", { text: "Edit history" }), status, list);
}

/** A long press (a touch held still) on a message opens its menu. */
function mountLongPress() {
  let timer = null;
  let start = null;
  let pressed = false;
  const cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  itemsEl.addEventListener("pointerdown", (event) => {
    pressed = false;
    if (event.pointerType === "mouse") return;
    const message = messageOf(event.target);
    if (!message || message.deleted || event.target.closest("button, textarea, .msg-menu, .reaction-picker")) return;
    start = { x: event.clientX, y: event.clientY };
    cancel();
    timer = setTimeout(() => {
      timer = null;
      pressed = true;
      const current = threadOf(state, openId).messages.get(message.id);
      if (current && !current.deleted) togglePopup("menu", current, openPopupOpener(current));
    }, LONG_PRESS_MS);
  });
  itemsEl.addEventListener("pointermove", (event) => {
    if (timer && start && Math.hypot(event.clientX - start.x, event.clientY - start.y) > LONG_PRESS_SLOP_PX) cancel();
  });
  for (const type of ["pointerup", "pointercancel", "pointerleave"]) itemsEl.addEventListener(type, cancel);
  // The press that opened the menu is not also a click, nor the browser's own menu.
  itemsEl.addEventListener("contextmenu", (event) => {
    if (pressed || timer) event.preventDefault();
  });
  itemsEl.addEventListener(
    "click",
    (event) => {
      if (pressed) {
        pressed = false;
        event.stopPropagation();
        event.preventDefault();
      }
    },
    true,
  );
}

function startReply(message) {
  setReply(message.id);
  input.focus();
}

/** Show (or, null, hide) the "Replying to" bar above the composer. */
function setReply(messageId) {
  replyTo = messageId;
  const message = messageId === null ? null : threadOf(state, openId).messages.get(messageId);
  replyBar.hidden = !message;
  if (!message) {
    replyTo = null;
    return;
  }
  replyName.textContent = userById(state, message.sender_id).display_name;
  const text = message.content.replace(/\s+/g, " ");
  const excerpt = message.deleted ? "message deleted" : text || attachmentCountLabel(message.attachments?.length ?? 0);
  replyExcerpt.textContent = excerpt.length > 80 ? `${[...excerpt].slice(0, 80).join("")}…` : excerpt;
}

function startEditing(message) {
  editingId = message.id;
  render();
}

function stopEditing() {
  const id = editingId;
  editingId = null;
  render();
  itemsEl.querySelector(`[data-message-id="${id}"] [data-action=menu]`)?.focus({ preventScroll: true });
}

async function saveEdit(conversationId, messageId, area) {
  const content = area.value.trim();
  const current = threadOf(state, conversationId).messages.get(messageId);
  if (!content) {
    toast("A message needs some text: to remove it, delete it.");
    return;
  }
  if (content === current?.content) {
    stopEditing();
    return;
  }
  area.disabled = true;
  try {
    await editMessage(conversationId, messageId, content);
    if (editingId === messageId) stopEditing();
  } catch (error) {
    area.disabled = false;
    reportError("Couldn't edit the message", error);
    area.focus();
  }
}

async function confirmDelete(message) {
  if (!confirm("Delete this message? Everyone in the conversation will see “message deleted” instead.")) return;
  await attempt("Couldn't delete the message", () => deleteMessage(message.conversation_id, message.id));
}

/** Send is on with some text or an uploaded file, once no upload is in progress (the tray says
 * why it waits). */
function updateSendButton() {
  sendButton.disabled = !composerStatus(input.value).canSend;
}

function send() {
  const content = input.value.trim();
  if (openId === null || !composerStatus(content).canSend) return;
  input.value = "";
  const attachments = takeAttachments();
  sendButton.disabled = true;
  const replyMessage = replyTo === null ? null : threadOf(state, openId).messages.get(replyTo);
  setReply(null);
  draftSent(openId);
  if (hasNewer(state, openId)) jumpToLatest();
  sendMessage(openId, content, { replyTo: replyMessage ?? null, attachments });
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
