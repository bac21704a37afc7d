// The profile card: anyone's avatar, display name, @username, bio and the groups we share,
// with "Message" and "Add friend" (or "Request sent", "Accept"). It opens from any element with
// a `data-profile-user-id` (a sender's name or avatar in the timeline, a person in a list, a
// DM's header): views only mark their elements, this module listens once for the whole page.
//
// What the card shows comes from two places: the profile (GET /api/users/{id}: bio, mutual
// groups), read each time the card opens, and the store, for what events keep current while it
// is open: the person's name and avatar ("users": `user_updated`), where we stand with them
// ("friends") and our DM with them ("conversations"), and their presence ("presence": online,
// away or last seen, fetched when the card opens: ephemeral.js).
//
// Block (or Unblock), confirmed first, is on anyone else's card ("blocks": whom we block).
//
// A modal <dialog>: the rest of the page is inert while it is open, Tab cycles inside it,
// Escape closes it, and the focus goes back to what opened it.
import { answerFriendRequest, blockUser, directConversation, sendFriendRequest, unblockUser } from "../actions.js";
import { showPresenceOf } from "../ephemeral.js";
import { attempt, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed } from "../dom.js";
import { loadProfile } from "../loaders.js";
import { go } from "../router.js";
import { state, watch } from "../store.js";
import { directWith } from "../store/conversations.js";
import { relation } from "../store/friends.js";
import { presenceOf } from "../store/presence.js";
import { isBlocked } from "../store/settings.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { giveFocusBack, trapFocus } from "./focus.js";
import { paintPresence, presenceWords } from "./presence.js";

let dialog = null;
let parts = null; // the card's elements (see build)
let shown = null; // {userId, profile (null while loading), opener, restore}
let loads = 0; // the latest load's number: an earlier one answering late is ignored
let openSettings = () => {};

/** Listen for clicks (and Enter) on profile links; `onSettings` opens the settings (our own card's
 * "Edit profile"). */
export function mountProfile({ onSettings } = {}) {
  openSettings = onSettings ?? openSettings;
  document.addEventListener("click", (event) => {
    const el = event.target.closest?.("[data-profile-user-id]");
    if (!el || dialog?.contains(el)) return;
    event.preventDefault();
    // The focus goes back to what opened the card, or (a timeline avatar, which takes no focus)
    // to where it was.
    openProfile(Number(el.dataset.profileUserId), el.tabIndex >= 0 ? el : document.activeElement);
  });
  // A profile link that is not a button (a name in a list, the header's avatar) opens on Enter
  // (or Space, as buttons do).
  document.addEventListener("keydown", (event) => {
    if ((event.key !== "Enter" && event.key !== " ") || event.target.closest?.("button, a, input, textarea")) return;
    const el = event.target.closest?.("[data-profile-user-id]");
    if (!el) return;
    event.preventDefault();
    openProfile(Number(el.dataset.profileUserId), el);
  });
  watch("users", () => shown && drawPerson());
  watch("presence", () => shown && drawPerson());
  watch("friends", () => shown && drawActions());
  watch("conversations", () => shown && drawActions());
  watch("blocks", () => shown && drawActions());
}

/** Open `userId`'s card; the focus goes back to `opener` when it closes. */
export async function openProfile(userId, opener = document.activeElement) {
  if (!dialog) build();
  shown = { userId, profile: null, opener, restore: true };
  dialog.dataset.userId = String(userId);
  showPresenceOf(userId);
  showIn(parts.error, null);
  parts.status.hidden = false;
  parts.status.textContent = "Loading…";
  parts.bio.hidden = true;
  parts.groups.hidden = true;
  drawPerson();
  drawActions();
  if (!dialog.open) dialog.showModal();
  const seq = ++loads;
  let failed = null;
  const profile = await attempt("Couldn't load the profile", () => loadProfile(userId), (reason) => (failed = reason));
  if (seq !== loads || shown?.userId !== userId) return;
  parts.status.hidden = true;
  if (!profile) {
    showIn(parts.error, failed);
    return;
  }
  shown.profile = profile;
  drawProfile();
  drawActions();
}

function build() {
  parts = {
    avatar: h("span", { class: "avatar avatar-lg", "aria-hidden": "true", testid: "profile-avatar" }),
    name: h("h2", { id: "profile-name", testid: "profile-name" }),
    username: h("p", { class: "profile-username", testid: "profile-username" }),
    presence: h("p", { class: "profile-presence", testid: "profile-presence" }),
    status: h("p", { class: "muted", role: "status" }),
    bio: h("p", { class: "profile-bio", testid: "profile-bio", hidden: true }),
    groups: h("section", { class: "profile-groups", hidden: true }),
    groupList: h("ul", { class: "profile-group-list", testid: "profile-mutual-groups" }),
    error: h("p", { class: "form-error", role: "alert", testid: "profile-error", hidden: true }),
    actions: h("div", { class: "dialog-foot profile-actions", testid: "profile-actions" }),
  };
  parts.groups.append(h("h3", { text: "Groups in common" }), parts.groupList);
  dialog = h(
    "dialog",
    { class: "dialog profile-dialog", testid: "profile-card", "aria-labelledby": "profile-name" },
    h(
      "div",
      { class: "dialog-body" },
      h(
        "header",
        { class: "dialog-head profile-head" },
        h("span", { class: "profile-kicker", text: "Profile" }),
        h("button", { class: "icon-btn", type: "button", testid: "profile-close", "aria-label": "Close", onclick: () => dialog.close() }, "✕"),
      ),
      h("div", { class: "profile-top" }, parts.avatar, h("div", { class: "profile-names" }, parts.name, parts.username, parts.presence)),
      parts.status,
      parts.bio,
      parts.groups,
      parts.error,
      parts.actions,
    ),
  );
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  trapFocus(dialog);
  dialog.addEventListener("close", () => {
    const { opener, restore } = shown ?? {};
    shown = null;
    loads += 1;
    if (restore) giveFocusBack(dialog, opener);
  });
  document.body.append(dialog);
}

function drawPerson() {
  const user = userById(state, shown.userId);
  paintAvatar(parts.avatar, user);
  showName(parts.name, user.display_name, user);
  parts.username.hidden = user.deleted;
  parts.username.textContent = `@${user.username}`;
  paintPresence(parts.avatar, user.id);
  const self = user.id === state.meId;
  parts.presence.hidden = user.deleted || self;
  parts.presence.textContent = self ? "" : presenceWords(user.id).replace(/^./, (c) => c.toUpperCase());
  parts.presence.dataset.status = self ? "" : presenceOf(state, user.id).status;
  dialog.classList.toggle("deleted", user.deleted);
}

function drawProfile() {
  const { profile } = shown;
  parts.bio.hidden = !profile.bio;
  parts.bio.textContent = profile.bio;
  const groups = profile.mutual_groups ?? [];
  parts.groups.hidden = groups.length === 0;
  renderKeyed(
    parts.groupList,
    groups,
    (g) => g.id,
    (g) => h("li", null, h("a", { href: `#/c/${g.id}`, testid: "profile-group", onclick: () => leaveFor() })),
    (li, g) => {
      li.firstChild.textContent = state.conversations.get(g.id)?.name ?? g.name;
    },
  );
}

/** Close the card for somewhere else (the focus goes there, not back to the opener), and any
 * dialog it was opened from (a group's members panel). */
function leaveFor() {
  if (shown) shown.restore = false;
  dialog.close();
  for (const other of document.querySelectorAll("dialog[open]")) other.close();
}

function button(label, testId, onclick, { primary = false, disabled = false, title } = {}) {
  return h("button", { class: `btn${primary ? " btn-primary" : ""}`, type: "button", testid: testId, text: label, onclick, disabled, title });
}

/** Run a button's action with it disabled; a failure shows in the card's error line. */
async function act(el, what, action) {
  el.disabled = true;
  showIn(parts.error, null);
  const done = await attempt(what, async () => {
    await action();
    return true;
  }, parts.error);
  if (!done && el.isConnected) el.disabled = false;
}

async function message(el, userId) {
  const known = directWith(state, userId)?.id ?? shown?.profile?.direct_conversation_id ?? null;
  if (known !== null) {
    leaveFor();
    go(`#/c/${known}`);
    return;
  }
  el.disabled = true;
  const id = await attempt("Couldn't open the conversation", () => directConversation(userId), parts.error);
  if (id === undefined) {
    el.disabled = false;
    return;
  }
  leaveFor();
  go(`#/c/${id}`);
}

/** Block `user` (`on`) or unblock them, once confirmed. */
function confirmBlock(el, user, on) {
  const question = on
    ? `Block ${user.display_name}? They won't be able to message you, send you friend requests, add you to groups or find you in search. Your friendship ends.`
    : `Unblock ${user.display_name}? They can message you and send you friend requests again.`;
  if (!confirm(question)) return;
  act(el, on ? "Couldn't block" : "Couldn't unblock", () => (on ? blockUser(user.id) : unblockUser(user.id)));
}

const drawnActions = { key: null };

function drawActions() {
  const { userId, profile } = shown;
  const user = userById(state, userId);
  const rel = relation(state, userId);
  const dmId = directWith(state, userId)?.id ?? profile?.direct_conversation_id ?? null;
  const blocked = isBlocked(state, userId);
  const key = JSON.stringify([userId, state.meId, user.deleted, typeof rel === "object" && rel ? rel.id : rel, dmId, Boolean(profile), blocked]);
  if (drawnActions.key === key && parts.actions.childElementCount) return;
  drawnActions.key = key;
  const items = [];
  if (userId === state.meId) {
    items.push(
      button("Edit profile", "profile-edit", () => {
        leaveFor();
        openSettings();
      }, { primary: true }),
    );
  } else if (user.deleted) {
    if (dmId !== null) items.push(button("Open conversation", "profile-message", (e) => message(e.currentTarget, userId)));
  } else {
    if (rel === "friend" || dmId !== null) {
      items.push(button("Message", "profile-message", (e) => message(e.currentTarget, userId), { primary: true }));
    } else {
      items.push(button("Message", "profile-message", null, { disabled: true, title: "Become friends to send messages" }));
    }
    if (blocked) {
      // (No friend request either way while we block them: the server refuses it.)
    } else if (rel === "requested") items.push(button("Request sent", "profile-request-sent", null, { disabled: true }));
    else if (rel && typeof rel === "object") {
      items.push(button("Accept", "profile-accept", (e) => act(e.currentTarget, "Couldn't accept the request", () => answerFriendRequest(rel.id, "accept")), { primary: true }));
    } else if (rel === null) {
      items.push(button("Add friend", "profile-add-friend", (e) => act(e.currentTarget, "Couldn't send the friend request", () => sendFriendRequest(user.username)), { primary: true }));
    }
    items.push(
      blocked
        ? button("Unblock", "profile-unblock", (e) => confirmBlock(e.currentTarget, user, false))
        : button("Block…", "profile-block", (e) => confirmBlock(e.currentTarget, user, true)),
    );
  }
  const focused = parts.actions.contains(document.activeElement);
  parts.actions.replaceChildren(...items);
  if (focused) (parts.actions.querySelector("button:not(:disabled)") ?? dialog.querySelector("[data-testid=profile-close]")).focus();
}
