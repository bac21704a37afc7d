// The members panel of a group (the header's "Members" button): the group's picture, name and
// description, its members with their roles (ours marked) and presence (views/presence.js),
// and what we may do there, as the server's rules allow (groups.js `may`): admins edit the name,
// description, picture and whether members may add people, add friends, promote and demote;
// admins remove members, owners remove admins too, make owners and hand the group over; anyone
// leaves; owners delete it. Destructive steps (remove, leave, delete, hand over) ask first, in a
// confirmation dialog.
//
// A modal <dialog>: the browser keeps the focus in it and closes it on Escape (a member's menu,
// when open, takes the Escape first); the focus goes back to the button that opened it. A
// member's menu has the keys of every menu (views/menu.js): its items out of the Tab order, the
// arrows, Home and End move, Escape closes it back to its button, Tab goes on from the button. It
// follows the store while open (a rename, a role change, someone added: from any tab or
// member), and closes if the group goes. A refusal from the server (4xx `detail`) shows in the
// panel's error line.
import { attempt, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { addMember, deleteGroup, may, removeGroupAvatar, removeMember, setGroupAvatar, setRole, transferOwnership, updateGroup } from "../groups.js";
import { state, update, watch } from "../store.js";
import { conversationTitle, receiveConversationUpdate, roleOf } from "../store/conversations.js";
import { sortedFriends } from "../store/friends.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { giveFocusBack, trapFocus } from "./focus.js";
import { menuButtonKeys, menuItemProps, menuItems, menuKeys } from "./menu.js";
import { paintPresence, presenceSuffix } from "./presence.js";

const ROLE_LABEL = { owner: "Owner", admin: "Admin" };
const RANK = { owner: 0, admin: 1, member: 2 };

let conversationId = null;
let opener = null;
let openMenu = null; // {el, userId, button}
let adding = false; // the "Add people" list is shown
let formBase = null; // {name, description} the settings form was filled from

// The panel ---------------------------------------------------------------------------------

const closeButton = h("button", { class: "icon-btn", type: "button", testid: "members-close", "aria-label": "Close", title: "Close (Escape)", text: "✕" });
const groupAvatar = h("span", { class: "avatar avatar-lg avatar-group", "aria-hidden": "true" });
const title = h("h2", { id: "members-title", testid: "members-title" });
const description = h("p", { class: "members-description", testid: "members-description" });
const error = h("p", { class: "form-error", role: "alert", testid: "members-error", hidden: true });

const nameInput = h("input", { class: "input", name: "name", testid: "group-name-input", maxlength: 100, required: true, autocomplete: "off" });
const descriptionInput = h("textarea", { class: "input", name: "description", testid: "group-description-input", maxlength: 500, rows: 2 });
const settingsForm = h(
  "form",
  { class: "group-settings-form", testid: "group-settings-form" },
  h("label", { class: "field" }, h("span", { text: "Group name" }), nameInput),
  h("label", { class: "field" }, h("span", {}, "Description ", h("em", { text: "(optional)" })), descriptionInput),
  h("div", { class: "group-settings-actions" }, h("button", { class: "btn btn-primary btn-sm", type: "submit", testid: "group-settings-save", text: "Save" })),
);
const canAddBox = h("input", { type: "checkbox", testid: "members-can-add" });
const pictureInput = h("input", { class: "visually-hidden", type: "file", accept: "image/*", tabindex: "-1", "aria-hidden": "true", testid: "group-avatar-input" });
const pictureChange = h("button", { class: "btn btn-sm", type: "button", testid: "group-avatar-change", text: "Change picture" });
const pictureRemove = h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "group-avatar-remove", text: "Remove picture" });
const settings = h(
  "section",
  { class: "group-settings", testid: "group-settings", "aria-label": "Group settings" },
  settingsForm,
  h("label", { class: "check" }, canAddBox, h("span", { text: "Members can add people" })),
  h("div", { class: "picture-actions" }, pictureChange, pictureRemove, pictureInput),
);

const memberCount = h("span", { class: "count", testid: "member-count" });
const memberList = h("ul", { class: "people member-list", testid: "member-list", "aria-label": "Members" });
const addButton = h("button", { class: "btn btn-sm", type: "button", testid: "add-people-button", "aria-expanded": "false", text: "Add people" });
const addList = h("ul", { class: "people compact add-list", testid: "add-people-list", "aria-label": "Friends to add", hidden: true });
const addEmpty = h("p", { class: "muted", testid: "add-people-empty", hidden: true, text: "All your friends are in this group." });
const leaveButton = h("button", { class: "btn btn-danger", type: "button", testid: "leave-group", text: "Leave group" });
const deleteButton = h("button", { class: "btn btn-danger", type: "button", testid: "delete-group", text: "Delete group" });

const dialog = h(
  "dialog",
  { class: "dialog members-dialog", testid: "members-panel", "aria-labelledby": "members-title" },
  h(
    "div",
    { class: "dialog-body" },
    h("header", { class: "dialog-head members-head" }, h("div", { class: "members-hero" }, groupAvatar, h("div", { class: "members-hero-text" }, title, description)), closeButton),
    error,
    settings,
    h("h3", { class: "members-heading" }, "Members ", memberCount),
    memberList,
    h("div", { class: "add-people" }, addButton, addList, addEmpty),
    h("footer", { class: "dialog-foot members-foot" }, leaveButton, deleteButton),
  ),
);

// The confirmation dialog -------------------------------------------------------------------

const confirmText = h("p", { class: "confirm-text", testid: "confirm-text", id: "confirm-text" });
const confirmDetail = h("p", { class: "muted confirm-detail", testid: "confirm-detail", id: "confirm-detail" });
const confirmOk = h("button", { class: "btn btn-danger", type: "submit", value: "ok", testid: "confirm-ok" });
const confirmDialog = h(
  "dialog",
  { class: "dialog confirm-dialog", role: "alertdialog", testid: "confirm-dialog", "aria-labelledby": "confirm-text", "aria-describedby": "confirm-detail" },
  h(
    "form",
    { class: "dialog-body", method: "dialog" },
    confirmText,
    confirmDetail,
    h("footer", { class: "dialog-foot" }, h("button", { class: "btn", type: "submit", value: "cancel", testid: "confirm-cancel", text: "Cancel" }), confirmOk),
  ),
);

/** Ask before a destructive step; resolves to whether to go on. Cancel has the focus first. */
function confirmStep(text, detail, label) {
  confirmText.textContent = text;
  confirmDetail.textContent = detail;
  confirmOk.textContent = label;
  confirmDialog.returnValue = "";
  confirmDialog.showModal();
  confirmDialog.querySelector("[value=cancel]").focus();
  return new Promise((resolve) => {
    confirmDialog.addEventListener("close", () => resolve(confirmDialog.returnValue === "ok"), { once: true });
  });
}

// Opening and closing ---------------------------------------------------------------------------

export function mountMembers() {
  document.body.append(dialog, confirmDialog);
  trapFocus(dialog);
  trapFocus(confirmDialog);
  const button = testid("members-button");
  button.addEventListener("click", () => openMembers(Number(button.dataset.conversationId), button));
  closeButton.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("pointerdown", (event) => {
    if (openMenu && !openMenu.el.contains(event.target) && !openMenu.button.contains(event.target)) closeMenu();
  });
  dialog.addEventListener("close", () => {
    closeMenu();
    if (confirmDialog.open) confirmDialog.close();
    conversationId = null;
    if (!opener?.hidden) giveFocusBack(dialog, opener);
  });
  settingsForm.addEventListener("submit", (event) => {
    event.preventDefault();
    saveSettings();
  });
  canAddBox.addEventListener("change", () => {
    const on = canAddBox.checked;
    run("Couldn't change the setting", () => updateGroup(conversationId, { members_can_add: on })).then(() => render());
  });
  pictureChange.addEventListener("click", () => pictureInput.click());
  pictureInput.addEventListener("change", () => {
    const file = pictureInput.files[0];
    pictureInput.value = "";
    if (file) run("Couldn't change the picture", () => setGroupAvatar(conversationId, file));
  });
  pictureRemove.addEventListener("click", () => run("Couldn't remove the picture", () => removeGroupAvatar(conversationId)));
  addButton.addEventListener("click", () => {
    adding = !adding;
    render();
    if (adding) addList.querySelector("button")?.focus();
  });
  leaveButton.addEventListener("click", leave);
  deleteButton.addEventListener("click", remove);
  for (const topic of ["conversations", "users", "friends", "presence"]) {
    watch(topic, () => {
      if (dialog.open) render();
    });
  }
}

/** Open the panel of group `id`; the focus returns to `from` when it closes. */
export function openMembers(id, from = null) {
  conversationId = id;
  opener = from;
  adding = false;
  formBase = null;
  showIn(error, null);
  render();
  if (!dialog.open) dialog.showModal();
  closeButton.focus();
}

// Drawing -----------------------------------------------------------------------------------

function render() {
  // A member's row removed (or its menu) may have had the focus: it stays in the panel.
  const hadFocus = dialog.contains(document.activeElement);
  draw();
  if (dialog.open && hadFocus && !dialog.contains(document.activeElement)) closeButton.focus({ preventScroll: true });
}

function draw() {
  const conversation = state.conversations.get(conversationId);
  if (!conversation || conversation.type !== "group" || !roleOf(conversation, state.meId)) {
    if (dialog.open) dialog.close(); // the group is gone, or we are no longer in it
    return;
  }
  const name = conversationTitle(state, conversation);
  const rights = may(conversation, state.meId);
  paintAvatar(groupAvatar, { id: conversation.id, avatar_url: conversation.avatar_url }, name);
  title.textContent = name;
  description.textContent = conversation.description;
  description.hidden = !conversation.description;

  settings.hidden = !rights.edit;
  fillForm(conversation);
  canAddBox.checked = conversation.members_can_add;
  pictureRemove.hidden = !conversation.avatar_url;

  const members = conversation.member_ids
    .map((id) => ({ user: userById(state, id), role: roleOf(conversation, id) }))
    .sort((a, b) => RANK[a.role] - RANK[b.role] || a.user.display_name.localeCompare(b.user.display_name));
  memberCount.textContent = String(members.length);
  renderKeyed(memberList, members, (m) => m.user.id, createMember, (li, m) => updateMember(li, m, conversation));
  if (openMenu && !memberList.contains(openMenu.el)) closeMenu();

  addButton.hidden = !rights.add;
  if (!rights.add) adding = false;
  addButton.setAttribute("aria-expanded", String(adding));
  const candidates = sortedFriends(state).filter((f) => !conversation.member_ids.includes(f.id));
  addList.hidden = !adding || candidates.length === 0;
  addEmpty.hidden = !adding || candidates.length > 0;
  renderKeyed(addList, adding ? candidates : [], (f) => f.id, createCandidate, updateCandidate);

  deleteButton.hidden = !rights.delete;
}

/** The settings form shows the group's name and description, unless they are being edited
 * (a field still showing what it was filled with follows a change from elsewhere). */
function fillForm(conversation) {
  const now = { name: conversation.name ?? "", description: conversation.description };
  if (formBase === null || nameInput.value === formBase.name) nameInput.value = now.name;
  if (formBase === null || descriptionInput.value === formBase.description) descriptionInput.value = now.description;
  formBase = now;
}

function createMember(m) {
  const menuButton = h("button", {
    class: "icon-btn member-menu-btn",
    type: "button",
    testid: "member-menu-button",
    "aria-haspopup": "menu",
    "aria-expanded": "false",
    text: "⋯",
  });
  menuButton.addEventListener("click", () => toggleMenu(m.user.id, menuButton));
  menuButtonKeys(menuButton, () => openMenu?.button === menuButton, () => closeMenu());
  return h(
    "li",
    { class: "person member", testid: "member", dataset: { userId: String(m.user.id) } },
    h("span", { class: "avatar", "aria-hidden": "true" }),
    // The name opens the member's profile card (profile.js); read as shown, with their presence.
    h(
      "span",
      { class: "person-names", role: "button", tabindex: "0", title: "Show profile", dataset: { profileUserId: String(m.user.id) } },
      h("strong", { testid: "member-name" }),
      h("small"),
      h("span", { class: "visually-hidden person-presence" }),
    ),
    h("span", { class: "role-badge", testid: "member-role" }),
    menuButton,
  );
}

function updateMember(li, { user, role }, conversation) {
  const me = user.id === state.meId;
  paintAvatar(li.querySelector(".avatar"), user);
  paintPresence(li.querySelector(".avatar"), user.id);
  showName(li.querySelector("strong"), me ? `${user.display_name} (you)` : user.display_name, user);
  li.querySelector("small").textContent = `@${user.username}`;
  li.querySelector(".person-presence").textContent = presenceSuffix(user.id);
  li.classList.toggle("me", me);
  li.dataset.role = role;
  const badge = li.querySelector(".role-badge");
  badge.textContent = ROLE_LABEL[role] ?? "";
  badge.hidden = !ROLE_LABEL[role];
  const actions = memberActions(conversation, user);
  const button = li.querySelector(".member-menu-btn");
  button.hidden = actions.length === 0;
  button.setAttribute("aria-label", `Actions for ${user.display_name}`);
  button.title = `Actions for ${user.display_name}`;
  if (openMenu?.userId === user.id && actions.map((a) => a.id).join() !== openMenu.actions) closeMenu();
}

function createCandidate(f) {
  return h(
    "li",
    { class: "person", testid: "add-candidate" },
    h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }),
    h("span", { class: "person-names" }, h("strong"), h("small")),
    h("button", { class: "btn btn-sm", type: "button", testid: "add-person", onclick: () => run(`Couldn't add ${userById(state, f.id).display_name}`, () => addMember(conversationId, f.id)) }),
  );
}

function updateCandidate(li, f) {
  paintAvatar(li.querySelector(".avatar"), f);
  showName(li.querySelector("strong"), f.display_name, f);
  li.querySelector("small").textContent = `@${f.username}`;
  const button = li.querySelector("button");
  button.textContent = "Add";
  button.setAttribute("aria-label", `Add ${f.display_name}`);
}

// A member's menu ---------------------------------------------------------------------------

/** What we may do to `user` in the group, as menu items `{id, label, run, danger}`. */
function memberActions(conversation, user) {
  const rights = may(conversation, state.meId, user.id);
  const group = conversationTitle(state, conversation);
  const name = user.display_name;
  const id = conversation.id;
  const role = roleOf(conversation, user.id);
  const items = [];
  if (rights.promote) items.push({ id: "promote", label: "Make admin", run: () => run(`Couldn't make ${name} an admin`, () => setRole(id, user.id, "admin")) });
  if (rights.demote && role === "admin") items.push({ id: "demote", label: "Remove admin", run: () => run(`Couldn't change ${name}'s role`, () => setRole(id, user.id, "member")) });
  if (rights.demote && role === "owner") items.push({ id: "demote", label: "Remove owner", run: () => run(`Couldn't change ${name}'s role`, () => setRole(id, user.id, "admin")) });
  if (rights.makeOwner) {
    items.push({
      id: "make-owner",
      label: "Make owner",
      run: () => confirmed(`Make ${name} an owner of “${group}”?`, "You stay an owner too. Owners can remove admins and delete the group.", "Make owner", `Couldn't make ${name} an owner`, () => setRole(id, user.id, "owner")),
    });
  }
  if (rights.transfer) {
    items.push({
      id: "transfer",
      label: "Transfer ownership",
      run: () => confirmed(`Hand “${group}” over to ${name}?`, `${name} becomes its owner, and you an admin.`, "Transfer ownership", "Couldn't transfer the group", () => transferOwnership(id, user.id)),
    });
  }
  if (rights.remove) {
    items.push({
      id: "remove",
      label: "Remove from group",
      danger: true,
      run: () => confirmed(`Remove ${name} from “${group}”?`, "They will no longer see the group or its new messages.", "Remove", `Couldn't remove ${name}`, () => removeMember(id, user.id)),
    });
  }
  return items;
}

function toggleMenu(userId, button) {
  const same = openMenu?.userId === userId;
  closeMenu();
  if (same) return;
  const conversation = state.conversations.get(conversationId);
  const actions = memberActions(conversation, userById(state, userId));
  if (!actions.length) return;
  const el = h(
    "div",
    { class: "msg-menu member-menu", role: "menu", testid: "member-menu", "aria-label": `Actions for ${userById(state, userId).display_name}`, onfocusout: leaveMenu },
    actions.map((a) =>
      h(
        "button",
        menuItemProps({
          class: `menu-item${a.danger ? " danger" : ""}`,
          testid: `member-${a.id}`,
          text: a.label,
          onclick: () => {
            closeMenu({ refocus: true });
            a.run();
          },
        }),
      ),
    ),
  );
  menuKeys(el, button, () => closeMenu());
  button.closest("li").append(el);
  button.setAttribute("aria-expanded", "true");
  openMenu = { el, userId, button, actions: actions.map((a) => a.id).join() };
  menuItems(el)[0].focus();
}

function closeMenu({ refocus = false } = {}) {
  if (!openMenu) return;
  const { el, button } = openMenu;
  openMenu = null;
  el.remove();
  button.setAttribute("aria-expanded", "false");
  if (refocus && button.isConnected) button.focus({ preventScroll: true });
}

/** The focus leaving the menu (and its button) for elsewhere in the panel closes it. */
function leaveMenu(event) {
  const to = event.relatedTarget;
  if (openMenu && to && !openMenu.el.contains(to) && to !== openMenu.button) closeMenu();
}

// Acting ------------------------------------------------------------------------------------

/** Run a request, its failure shown in the panel's error line; resolves to whether it worked. */
async function run(what, request) {
  showIn(error, null);
  const done = await attempt(
    what,
    async () => {
      await request();
      return true;
    },
    error,
  );
  return done === true;
}

async function confirmed(text, detail, label, what, request) {
  if (await confirmStep(text, detail, label)) return run(what, request);
  return false;
}

async function saveSettings() {
  const conversation = state.conversations.get(conversationId);
  if (!conversation) return;
  const name = nameInput.value.trim();
  if (!name) {
    showIn(error, "A group needs a name.");
    nameInput.focus();
    return;
  }
  const changes = {};
  if (name !== (conversation.name ?? "")) changes.name = name;
  if (descriptionInput.value.trim() !== conversation.description) changes.description = descriptionInput.value.trim();
  if (!Object.keys(changes).length) return;
  if (await run("Couldn't save the group's settings", () => updateGroup(conversationId, changes))) {
    formBase = null;
    render();
  }
}

async function leave() {
  const conversation = state.conversations.get(conversationId);
  if (!conversation) return;
  const id = conversation.id;
  const group = conversationTitle(state, conversation);
  const lastOwner = roleOf(conversation, state.meId) === "owner" && conversation.member_ids.filter((m) => roleOf(conversation, m) === "owner").length === 1;
  const detail = lastOwner
    ? "You will no longer get its messages. As you are its only owner, the longest-standing admin (or member) becomes its owner."
    : "You will no longer get its messages; a member would have to add you back.";
  if (!(await confirmed(`Leave “${group}”?`, detail, "Leave group", "Couldn't leave the group", () => removeMember(id, state.meId)))) return;
  update(receiveConversationUpdate, { conversation: null, conversation_id: id, reason: "removed" });
}

async function remove() {
  const conversation = state.conversations.get(conversationId);
  if (!conversation) return;
  const id = conversation.id;
  const group = conversationTitle(state, conversation);
  const detail = "The group and its messages go for every member. This cannot be undone.";
  if (!(await confirmed(`Delete “${group}” for everyone?`, detail, "Delete group", "Couldn't delete the group", () => deleteGroup(id)))) return;
  update(receiveConversationUpdate, { conversation: null, conversation_id: id, reason: "deleted" });
}
