// The open conversation's mute menu (the bell in its header) and, in a blocked DM, the composer
// turned off with a line saying why; drawn by views/conversation.js from the store.
//
// The menu mutes for an hour, 8 hours, a week or until unmuted, or unmutes; the answer (and our
// `muted` event, in every tab) brings `muted_until`, and the sidebar shows the muted icon. Its
// keys are a menu's (views/menu.js), and it is drawn again, open, when the conversation's mute
// changes (in another tab). A DM
// in which one member blocks the other (`blocked`) cannot be written to: the composer is
// disabled under "You can't message each other", and whoever blocks has an Unblock button
// there. A send the server refuses for a block (409 `blocked` / `you_blocked`: one started
// before the block was known here) says the server's words in the composer's error line.
import { unblockUser, unmuteConversation } from "../actions.js";
import { attempt, showIn } from "../errors.js";
import { h, svgIcon, testid } from "../dom.js";
import { state } from "../store.js";
import { isMuted, mutedForever, otherMember } from "../store/conversations.js";
import { isBlocked } from "../store/settings.js";
import { menuButtonKeys, menuItemProps, menuItems, menuKeys } from "./menu.js";
import { MUTE_CHOICES, muteFor } from "./mute_choices.js";

const BELL = "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1z";
const BELL_OFF =
  "M20 18.69 7.84 6.14 5.27 3.49 4 4.76l2.8 2.8v.01c-.52.99-.8 2.16-.8 3.42v5l-2 2v1h13.73l2 2L21 19.72l-1-1.03zM12 22c1.11 0 2-.89 2-2h-4c0 1.11.89 2 2 2zm6-7.32V11c0-3.08-1.64-5.64-4.5-6.32V4c0-.83-.67-1.5-1.5-1.5s-1.5.67-1.5 1.5v.68c-.15.03-.29.08-.42.12-.1.03-.2.07-.3.11-.23.09-.46.2-.68.31L18 14.68z";

/** A bell icon (`off`: struck through, a muted conversation), decorative. */
export function bellIcon(off, size = 22) {
  return svgIcon(off ? BELL_OFF : BELL, { size });
}

let el = null; // see mountControls
let shownId = null;

/** Build the header's mute button and menu and the blocked line (`form`, `input`, `sendButton`:
 * the composer's parts). */
export function mountControls({ form, input, sendButton }) {
  const header = testid("conversation-view").querySelector(".pane-head");
  el = { form, input, sendButton };
  el.button = h("button", { class: "icon-btn mute-btn", type: "button", testid: "mute-button", "aria-haspopup": "menu", "aria-expanded": "false", onclick: () => toggleMenu() });
  el.menu = h("div", { class: "mute-menu", role: "menu", testid: "mute-menu", "aria-label": "Mute notifications", hidden: true, onfocusout: leaveMenu });
  menuKeys(el.menu, el.button, closeMenu);
  menuButtonKeys(el.button, () => !el.menu.hidden, closeMenu);
  header.insertBefore(el.button, testid("members-button"));
  header.append(el.menu);
  el.blockedText = h("p", { testid: "composer-blocked-text", text: "You can't message each other." });
  el.unblock = h("button", { class: "btn btn-sm", type: "button", testid: "composer-unblock", text: "Unblock", onclick: () => unblockHere() });
  el.blocked = h("div", { class: "composer-blocked", role: "status", testid: "composer-blocked", hidden: true }, el.blockedText, el.unblock);
  el.error = h("p", { class: "form-error composer-error", role: "alert", testid: "composer-error", hidden: true });
  form.before(el.blocked, el.error);
  document.addEventListener("pointerdown", (event) => {
    if (!el.menu.hidden && !el.menu.contains(event.target) && !el.button.contains(event.target)) closeMenu();
  });
  document.addEventListener("tidings:send-refused", ({ detail }) => {
    if (detail.conversationId === shownId) showIn(el.error, detail.reason);
  });
}

/** What the controls show depends on (for the header's redraw key). */
export function controlsKey(conversation) {
  if (!conversation) return null;
  const other = conversation.type === "direct" ? otherMember(state, conversation).id : null;
  return [conversation.muted_until, isMuted(conversation), conversation.blocked, other !== null && isBlocked(state, other)];
}

/** Draw the controls for `conversation` (null: none open, or not found). */
export function drawControls(conversation) {
  if (conversation?.id !== shownId) {
    showIn(el.error, null);
    closeMenu();
  }
  shownId = conversation?.id ?? null;
  el.button.hidden = !conversation;
  if (!conversation) {
    el.blocked.hidden = true;
    return;
  }
  const muted = isMuted(conversation);
  if (!el.menu.hidden && el.menu.dataset.muted !== String(muted)) fillMenu(conversation);
  el.button.classList.toggle("on", muted);
  if (el.button.dataset.muted !== String(muted)) {
    el.button.dataset.muted = String(muted);
    el.button.replaceChildren(bellIcon(muted));
  }
  const label = muted ? (mutedForever(conversation) ? "Muted until you unmute" : `Muted until ${new Date(conversation.muted_until).toLocaleString()}`) : "Mute notifications";
  el.button.title = label;
  el.button.setAttribute("aria-label", label);
  const blocked = conversation.type === "direct" && conversation.blocked;
  el.blocked.hidden = !blocked;
  const other = conversation.type === "direct" ? otherMember(state, conversation) : null;
  el.unblock.hidden = !(blocked && other && isBlocked(state, other.id));
  el.unblock.disabled = false;
  el.blockedText.textContent = el.unblock.hidden ? "You can't message each other." : `You can't message each other: you blocked ${other.display_name}.`;
  if (!blocked) showIn(el.error, null);
  el.input.disabled = blocked;
  if (blocked) el.input.placeholder = "You can't message each other";
  el.form.classList.toggle("disabled", blocked);
  if (blocked) el.sendButton.disabled = true;
  for (const button of el.form.querySelectorAll("button")) if (button !== el.sendButton) button.disabled = blocked;
}

function toggleMenu() {
  if (el.menu.hidden) openMenu();
  else closeMenu();
}

function openMenu() {
  const conversation = state.conversations.get(shownId);
  if (!conversation) return;
  fillMenu(conversation);
  el.menu.hidden = false;
  el.button.setAttribute("aria-expanded", "true");
  menuItems(el.menu)[0].focus();
}

/** The menu's items for `conversation` (Unmute too when muted), the focus staying on the same
 * item (by test id) if it was in the menu. */
function fillMenu(conversation) {
  const focused = el.menu.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
  const item = (label, testId, run) => h("button", menuItemProps({ testid: testId, text: label, onclick: () => choose(run) }));
  const items = MUTE_CHOICES.map((choice) => item(choice.label, choice.testId, () => muteFor(shownId, choice)));
  const muted = isMuted(conversation);
  if (muted) items.push(item("Unmute", "unmute", () => unmuteConversation(shownId)));
  el.menu.dataset.muted = String(muted);
  el.menu.replaceChildren(...items);
  if (focused !== null) (items.find((i) => i.dataset.testid === focused) ?? items[0]).focus({ preventScroll: true });
}

function closeMenu() {
  if (!el || el.menu.hidden) return;
  el.menu.hidden = true;
  el.button.setAttribute("aria-expanded", "false");
}

/** The focus leaving the menu (and its button) for elsewhere closes it. */
function leaveMenu(event) {
  const to = event.relatedTarget;
  if (to && !el.menu.contains(to) && to !== el.button) closeMenu();
}

async function choose(action) {
  el.button.focus();
  closeMenu();
  await attempt("Couldn't change the conversation's notifications", action);
}

async function unblockHere() {
  const conversation = state.conversations.get(shownId);
  if (!conversation) return;
  const other = otherMember(state, conversation);
  if (!confirm(`Unblock ${other.display_name}? They can message you and send you friend requests again.`)) return;
  el.unblock.disabled = true;
  await attempt("Couldn't unblock", () => unblockUser(other.id), el.error);
  el.unblock.disabled = false;
}
