// Settings (a dialog, from the gear by our name): our profile (display name, bio, avatar), our
// password, notifications (system notifications and sound while no tab is visible, and the
// browser's permission, asked from a click), privacy (hiding our presence, sending read
// receipts), the people we block, access tokens (views/tokens.js), bots (views/bots.js),
// signing out everywhere, downloading our data, and deleting the account.
//
// The notification and privacy switches save as they are flipped (PATCH /api/users/me/settings);
// every tab hears `settings_updated` and draws them from the store (store/settings.js).
//
// Our name and avatar are drawn from the store, so the change shows here, in this page and in
// every tab that shows us once the server answers (and its `user_updated` event arrives). Each
// part has its own error line (errors.js): a wrong password is said there, it does not sign us
// out as another 401 would.
import { ApiError } from "../api.js";
import { changePassword, deleteAccount, removeAvatar, unblockUser, updateProfile, updateSettings, uploadAvatar } from "../actions.js";
import { reportError, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { tokenRequests } from "../clients.js";
import { loadProfile } from "../loaders.js";
import { state, watch } from "../store.js";
import { settingsOf } from "../store/settings.js";
import { me, userById } from "../store/users.js";
import { botsSection } from "./bots.js";
import { giveFocusBack, trapFocus } from "./focus.js";
import { tokenPanel } from "./tokens.js";

const NAME_MAX = 64;
const BIO_MAX = 300;
const PASSWORD_MIN = 8;

let dialog = null;
let el = null; // the dialog's parts (see build)
let hooks = { signOutEverywhere: () => {}, signedOut: () => {} };
let opener = null;

/**
 * Wire the settings button. `signOutEverywhere()` ends every session and leaves the page;
 * `signedOut()` leaves the page once the account is gone (app.js owns the stream and the
 * other tabs).
 */
export function mountSettings({ signOutEverywhere, signedOut }) {
  hooks = { signOutEverywhere, signedOut };
  testid("settings-button")?.addEventListener("click", () => openSettings());
  watch("users", () => dialog?.open && (drawMe(), drawBlocked()));
  watch("settings", () => dialog?.open && drawSettings());
  watch("blocks", () => dialog?.open && drawBlocked());
}

/** Open the settings, filled with our profile as it now is. */
export async function openSettings() {
  if (!dialog) build();
  opener = document.activeElement;
  for (const error of dialog.querySelectorAll(".form-error")) showIn(error, null);
  for (const status of dialog.querySelectorAll("[role=status]")) status.textContent = "";
  el.passwordForm.reset();
  el.deleteForm.reset();
  el.deleteForm.hidden = true;
  el.deleteStart.hidden = false;
  const user = me(state);
  el.name.value = user?.display_name ?? "";
  el.bio.value = "";
  el.bio.disabled = true; // until our bio is read
  countBio();
  drawMe();
  drawSettings();
  drawBlocked();
  el.tokens.reset();
  el.bots.reset();
  el.tokens.refresh();
  el.bots.refresh();
  if (!dialog.open) dialog.showModal();
  el.name.focus();
  const profile = await loadProfile(state.meId).catch((error) => {
    reportError("Couldn't load your profile", error, el.profileError);
    return null;
  });
  if (!profile || !dialog.open) return;
  el.bio.value = profile.bio;
  el.bio.disabled = false;
  countBio();
}

function drawMe() {
  const user = me(state);
  if (!user) return;
  paintAvatar(el.avatar, user);
  el.removeAvatar.hidden = !user.avatar_url;
  el.exportLink.download = `tidings-export-${user.username}.json`;
}

function countBio() {
  el.bioCount.textContent = `${[...el.bio.value].length}/${BIO_MAX}`;
}

/** Report `error` in `place`: a wrong password (a 401 that is not "signed out") is said there. */
function fail(what, error, place) {
  if (error instanceof ApiError && error.status === 401 && error.code !== "not_authenticated") {
    showIn(place, error.message);
    return;
  }
  reportError(what, error, place);
}

/** Run `action` with `button` disabled; failures go to `place`; resolves to whether it worked. */
async function run(button, place, what, action) {
  button.disabled = true;
  showIn(place, null);
  try {
    await action();
    return true;
  } catch (error) {
    fail(what, error, place);
    return false;
  } finally {
    button.disabled = false;
  }
}

// Building the dialog -----------------------------------------------------------------------

/** A labelled control, its hint (if any) read out with it. */
function field(label, control, hint) {
  const id = control.id || `settings-${control.name.replaceAll("_", "-")}`;
  control.id = id;
  if (hint) {
    hint.id = `${id}-hint`;
    control.setAttribute("aria-describedby", hint.id);
  }
  return h("div", { class: "field" }, h("label", { for: id, text: label }), control, hint ?? null);
}

function build() {
  el = {};
  el.avatar = h("span", { class: "avatar avatar-lg", testid: "settings-avatar", "aria-hidden": "true" });
  el.avatarInput = h("input", { type: "file", accept: "image/jpeg,image/png,image/gif,image/webp", class: "visually-hidden", tabindex: "-1", "aria-hidden": "true", testid: "settings-avatar-input" });
  el.uploadAvatar = h("button", { class: "btn btn-sm", type: "button", testid: "settings-avatar-upload", text: "Upload a picture", onclick: () => el.avatarInput.click() });
  el.removeAvatar = h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "settings-avatar-remove", text: "Remove", hidden: true });
  el.avatarStatus = h("p", { class: "settings-status", role: "status", testid: "settings-avatar-status" });
  el.avatarError = h("p", { class: "form-error", role: "alert", testid: "settings-avatar-error", hidden: true });

  el.name = h("input", { class: "input", name: "display_name", maxlength: NAME_MAX, required: true, autocomplete: "nickname", testid: "settings-display-name" });
  el.bio = h("textarea", { class: "input settings-bio", name: "bio", rows: 3, maxlength: BIO_MAX, testid: "settings-bio", oninput: () => countBio() });
  el.bioCount = h("small", { class: "settings-count", "aria-live": "polite" });
  el.saveProfile = h("button", { class: "btn btn-primary", type: "submit", testid: "settings-save-profile", text: "Save" });
  el.profileStatus = h("p", { class: "settings-status", role: "status", testid: "settings-profile-status" });
  el.profileError = h("p", { class: "form-error", role: "alert", testid: "settings-profile-error", hidden: true });
  const profileForm = h(
    "form",
    { class: "settings-form", testid: "settings-profile-form", novalidate: true, onsubmit: saveProfile },
    field("Display name", el.name),
    field("Bio", el.bio, el.bioCount),
    el.profileError,
    h("div", { class: "settings-actions" }, el.profileStatus, el.saveProfile),
  );

  el.current = h("input", { class: "input", type: "password", name: "current_password", autocomplete: "current-password", testid: "settings-current-password" });
  el.next = h("input", { class: "input", type: "password", name: "new_password", autocomplete: "new-password", minlength: PASSWORD_MIN, testid: "settings-new-password" });
  el.again = h("input", { class: "input", type: "password", name: "new_password_again", autocomplete: "new-password", testid: "settings-new-password-again" });
  el.changePassword = h("button", { class: "btn btn-primary", type: "submit", testid: "settings-change-password", text: "Change password" });
  el.passwordStatus = h("p", { class: "settings-status", role: "status", testid: "settings-password-status" });
  el.passwordError = h("p", { class: "form-error", role: "alert", testid: "settings-password-error", hidden: true });
  el.passwordForm = h(
    "form",
    { class: "settings-form", testid: "settings-password-form", novalidate: true, onsubmit: savePassword },
    field("Current password", el.current),
    field("New password", el.next, h("small", { text: `At least ${PASSWORD_MIN} characters. Your other devices are signed out.` })),
    field("New password again", el.again),
    el.passwordError,
    h("div", { class: "settings-actions" }, el.passwordStatus, el.changePassword),
  );

  el.exportLink = h("a", { class: "btn btn-sm", href: "/api/users/me/export", download: "", testid: "settings-export", text: "Download my data" });
  el.deleteStart = h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "settings-delete-start", text: "Delete account…", onclick: startDelete });
  el.deletePassword = h("input", { class: "input", type: "password", name: "password", autocomplete: "current-password", testid: "settings-delete-password" });
  el.deleteConfirm = h("button", { class: "btn btn-sm btn-danger-solid", type: "submit", testid: "settings-delete-confirm", text: "Delete my account" });
  el.deleteError = h("p", { class: "form-error", role: "alert", testid: "settings-delete-error", hidden: true });
  el.deleteForm = h(
    "form",
    { class: "settings-form settings-danger", testid: "settings-delete-form", novalidate: true, hidden: true, onsubmit: confirmDelete },
    h("p", { text: "Your account, friends, notifications and files go for good. Your messages stay, shown as from “Deleted user”." }),
    field("Your password, to confirm", el.deletePassword),
    el.deleteError,
    h("div", { class: "settings-actions" }, h("button", { class: "btn btn-sm", type: "button", testid: "settings-delete-cancel", text: "Cancel", onclick: cancelDelete }), el.deleteConfirm),
  );

  dialog = h(
    "dialog",
    { class: "dialog settings-dialog", testid: "settings-dialog", "aria-labelledby": "settings-title" },
    h(
      "div",
      { class: "dialog-body" },
      h(
        "header",
        { class: "dialog-head" },
        h("h2", { id: "settings-title", text: "Settings" }),
        h("button", { class: "icon-btn", type: "button", testid: "settings-close", "aria-label": "Close", onclick: () => dialog.close() }, "✕"),
      ),
      h(
        "section",
        { class: "settings-section", "aria-labelledby": "settings-profile-title" },
        h("h3", { id: "settings-profile-title", text: "Profile" }),
        h("div", { class: "settings-avatar-row" }, el.avatar, h("div", { class: "settings-avatar-buttons" }, el.uploadAvatar, el.removeAvatar, el.avatarInput), el.avatarStatus),
        el.avatarError,
        profileForm,
      ),
      h("section", { class: "settings-section", "aria-labelledby": "settings-password-title" }, h("h3", { id: "settings-password-title", text: "Password" }), el.passwordForm),
      buildAppearance(),
      buildAttention(),
      buildClients(),
      h(
        "section",
        { class: "settings-section", "aria-labelledby": "settings-account-title" },
        h("h3", { id: "settings-account-title", text: "Account" }),
        h(
          "div",
          { class: "settings-row" },
          h("button", { class: "btn btn-sm", type: "button", testid: "settings-sign-out-everywhere", text: "Sign out everywhere", onclick: signOutEverywhere }),
          el.exportLink,
          el.deleteStart,
        ),
        el.deleteForm,
      ),
    ),
  );
  el.avatarInput.addEventListener("change", pickAvatar);
  el.removeAvatar.addEventListener("click", dropAvatar);
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  trapFocus(dialog);
  dialog.addEventListener("close", () => {
    giveFocusBack(dialog, opener);
    opener = null;
  });
  document.body.append(dialog);
}

/** Access tokens (ours) and bots: their parts are views/tokens.js and views/bots.js. */
function buildClients() {
  el.tokens = tokenPanel(tokenRequests("/api/tokens"), { testId: "settings-token-panel" });
  el.bots = botsSection();
  return h(
    "div",
    null,
    h(
      "section",
      { class: "settings-section", "aria-labelledby": "settings-tokens-title", testid: "settings-tokens" },
      h("h3", { id: "settings-tokens-title", text: "Access tokens" }),
      h("p", { class: "settings-permission", text: "For scripts and apps: sent as “Authorization: Bearer …”, a token acts as you. It cannot change your password or account." }),
      el.tokens.element,
    ),
    el.bots.element,
  );
}

// Profile -----------------------------------------------------------------------------------

async function saveProfile(event) {
  event.preventDefault();
  el.profileStatus.textContent = "";
  const name = el.name.value.trim();
  if (!name) {
    showIn(el.profileError, "Your display name can't be empty.");
    el.name.focus();
    return;
  }
  const changes = { display_name: name };
  if (!el.bio.disabled) changes.bio = el.bio.value;
  const done = await run(el.saveProfile, el.profileError, "Couldn't save your profile", async () => {
    const answer = await updateProfile(changes);
    el.name.value = answer.user.display_name;
    el.bio.value = answer.bio;
    countBio();
  });
  if (done) el.profileStatus.textContent = "Saved.";
}

async function pickAvatar() {
  const file = el.avatarInput.files?.[0];
  el.avatarInput.value = "";
  if (!file) return;
  el.avatarStatus.textContent = "Uploading…";
  const done = await run(el.uploadAvatar, el.avatarError, "Couldn't change your picture", () => uploadAvatar(file));
  el.avatarStatus.textContent = done ? "Picture changed." : "";
  el.uploadAvatar.focus();
}

async function dropAvatar() {
  el.avatarStatus.textContent = "";
  const done = await run(el.removeAvatar, el.avatarError, "Couldn't remove your picture", () => removeAvatar());
  el.avatarStatus.textContent = done ? "Picture removed." : "";
  el.uploadAvatar.focus();
}

// Notifications, privacy, blocked people -------------------------------------------------------

const SWITCHES = [
  ["desktop_notifications", "Desktop notifications while Tidings is in the background", "settings-desktop-notifications"],
  ["notification_sound", "Play a sound with them", "settings-notification-sound"],
  ["hide_presence", "Hide when I'm online", "settings-hide-presence"],
  ["send_read_receipts", "Let others see when I've read their messages", "settings-read-receipts"],
];

const PERMISSION_TEXT = {
  granted: "This browser shows Tidings' notifications.",
  denied: "This browser blocks Tidings' notifications: allow them in the site's settings (the icon left of the address).",
  default: "This browser hasn't been asked yet.",
  unsupported: "This browser can't show notifications.",
};

function permission() {
  return typeof Notification === "function" ? Notification.permission : "unsupported";
}

function toggle(key, label, testId) {
  const box = h("input", { type: "checkbox", id: testId, testid: testId, onchange: () => saveSwitch(key, box) });
  el.switches[key] = box;
  return h("label", { class: "settings-toggle", for: testId }, box, h("span", { text: label }));
}

const THEMES = [
  ["system", "Same as this device"],
  ["light", "Light"],
  ["dark", "Dark"],
];

function buildAppearance() {
  el.themes = {};
  const choices = THEMES.map(([value, label]) => {
    const id = `settings-theme-${value}`;
    const radio = h("input", { type: "radio", name: "theme", value, id, testid: id, onchange: () => saveTheme(value) });
    el.themes[value] = radio;
    return h("label", { class: "settings-toggle", for: id }, radio, h("span", { text: label }));
  });
  el.themeError = h("p", { class: "form-error", role: "alert", testid: "settings-theme-error", hidden: true });
  return h(
    "section",
    { class: "settings-section", "aria-labelledby": "settings-appearance-title", testid: "settings-appearance" },
    h("h3", { id: "settings-appearance-title", text: "Appearance" }),
    h("fieldset", { class: "settings-choices" }, h("legend", { class: "visually-hidden", text: "Colour scheme" }), ...choices),
    el.themeError,
  );
}

async function saveTheme(value) {
  const radios = Object.values(el.themes);
  for (const radio of radios) radio.disabled = true;
  showIn(el.themeError, null);
  try {
    await updateSettings({ theme: value });
  } catch (error) {
    reportError("Couldn't change the colour scheme", error, el.themeError);
  } finally {
    for (const radio of radios) radio.disabled = false;
    drawSettings();
    el.themes[settingsOf(state).theme]?.focus();
  }
}

function buildAttention() {
  el.switches = {};
  const [notifications, sound, presence, receipts] = SWITCHES.map(([key, label, testId]) => toggle(key, label, testId));
  el.permission = h("p", { class: "settings-permission", role: "status", testid: "settings-permission" });
  el.allow = h("button", { class: "btn btn-sm", type: "button", testid: "settings-allow-notifications", text: "Allow notifications in this browser", onclick: askPermission });
  el.attentionError = h("p", { class: "form-error", role: "alert", testid: "settings-attention-error", hidden: true });
  el.blockedList = h("ul", { class: "blocked-list", testid: "settings-blocked-list" });
  el.blockedEmpty = h("p", { class: "settings-permission", testid: "settings-blocked-empty", text: "You haven't blocked anyone." });
  el.blockedError = h("p", { class: "form-error", role: "alert", testid: "settings-blocked-error", hidden: true });
  return h(
    "div",
    null,
    h(
      "section",
      { class: "settings-section", "aria-labelledby": "settings-notifications-title", testid: "settings-notifications" },
      h("h3", { id: "settings-notifications-title", text: "Notifications" }),
      notifications,
      sound,
      h("div", { class: "settings-row" }, el.allow),
      el.permission,
    ),
    h(
      "section",
      { class: "settings-section", "aria-labelledby": "settings-privacy-title", testid: "settings-privacy" },
      h("h3", { id: "settings-privacy-title", text: "Privacy" }),
      presence,
      receipts,
      el.attentionError,
    ),
    h(
      "section",
      { class: "settings-section", "aria-labelledby": "settings-blocked-title", testid: "settings-blocked" },
      h("h3", { id: "settings-blocked-title", text: "Blocked people" }),
      el.blockedList,
      el.blockedEmpty,
      el.blockedError,
    ),
  );
}

function drawSettings() {
  const settings = settingsOf(state);
  for (const [key, box] of Object.entries(el.switches)) {
    if (!box.disabled) box.checked = settings[key];
  }
  for (const [value, radio] of Object.entries(el.themes)) radio.checked = settings.theme === value;
  const now = permission();
  el.permission.textContent = PERMISSION_TEXT[now] ?? PERMISSION_TEXT.default;
  el.permission.dataset.permission = now;
  el.allow.hidden = now !== "default";
}

async function saveSwitch(key, box) {
  const value = box.checked;
  box.disabled = true;
  showIn(el.attentionError, null);
  try {
    await updateSettings({ [key]: value });
  } catch (error) {
    box.checked = !value;
    reportError("Couldn't save the setting", error, el.attentionError);
  } finally {
    box.disabled = false;
    drawSettings();
  }
}

/** Ask the browser (from this click: browsers refuse to ask otherwise). */
async function askPermission() {
  if (typeof Notification !== "function") return drawSettings();
  el.allow.disabled = true;
  try {
    await Notification.requestPermission();
  } finally {
    el.allow.disabled = false;
    drawSettings();
  }
}

function drawBlocked() {
  const people = [...state.blockedIds].map((id) => userById(state, id)).sort((a, b) => a.display_name.localeCompare(b.display_name));
  el.blockedEmpty.hidden = people.length > 0;
  renderKeyed(
    el.blockedList,
    people,
    (u) => u.id,
    (u) => h("li", { testid: "settings-blocked-person", dataset: { userId: String(u.id) } }, h("span"), h("button", { class: "btn btn-sm", type: "button", testid: "settings-unblock", text: "Unblock", onclick: (e) => unblockFromList(e.currentTarget, u.id) })),
    (li, u) => {
      li.firstChild.textContent = `${u.display_name} (@${u.username})`;
    },
  );
}

async function unblockFromList(button, userId) {
  const user = userById(state, userId);
  if (!confirm(`Unblock ${user.display_name}? They can message you and send you friend requests again.`)) return;
  await run(button, el.blockedError, "Couldn't unblock", () => unblockUser(userId));
}

// Password and sessions ---------------------------------------------------------------------

async function savePassword(event) {
  event.preventDefault();
  el.passwordStatus.textContent = "";
  if (!el.current.value) return showIn(el.passwordError, "Enter your current password.");
  if ([...el.next.value].length < PASSWORD_MIN) return showIn(el.passwordError, `The new password needs at least ${PASSWORD_MIN} characters.`);
  if (el.next.value !== el.again.value) return showIn(el.passwordError, "The new passwords are not the same.");
  const done = await run(el.changePassword, el.passwordError, "Couldn't change your password", () => changePassword(el.current.value, el.next.value));
  if (!done) return;
  el.passwordForm.reset();
  el.passwordStatus.textContent = "Password changed. Your other devices are signed out.";
}

function signOutEverywhere() {
  // Other devices' open tabs are signed out live: the server ends their streams.
  if (confirm("Sign out on every device, this one included?")) hooks.signOutEverywhere();
}

// Deleting the account ----------------------------------------------------------------------

function startDelete() {
  el.deleteStart.hidden = true;
  el.deleteForm.hidden = false;
  showIn(el.deleteError, null);
  el.deletePassword.focus();
}

function cancelDelete() {
  el.deleteForm.reset();
  el.deleteForm.hidden = true;
  el.deleteStart.hidden = false;
  el.deleteStart.focus();
}

async function confirmDelete(event) {
  event.preventDefault();
  if (!el.deletePassword.value) {
    showIn(el.deleteError, "Enter your password to delete your account.");
    el.deletePassword.focus();
    return;
  }
  const done = await run(el.deleteConfirm, el.deleteError, "Couldn't delete your account", () => deleteAccount(el.deletePassword.value));
  if (done) hooks.signedOut();
}
