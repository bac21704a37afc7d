// The app shell: report errors, register the event-dispatch table, fetch the snapshot, start
// the realtime client, mount the views and route between them. Modules, from the stream to the
// screen: realtime.js (+ ordering.js) -> events.js -> store.js (store/*.js reducers) -> views/*.js;
// loaders.js (reads) and actions.js (writes) feed the store with the server's answers.
// Offline (offline.js, outbox.js): the page opens from the service worker's copy with the copy
// of the sidebar, says it is offline, and keeps what is written in the outbox until it is sent.
import { signOut } from "./actions.js";
import { paintAvatar, testid } from "./dom.js";
import { installErrorReporting, reportError } from "./errors.js";
import { mountEphemeral } from "./ephemeral.js";
import { registerEvents } from "./events.js";
import { loadAttention, loadSnapshot, watchMissing } from "./loaders.js";
import { mountNotifier } from "./notifier.js";
import { forgetThisDevice, keepOfflineCopy, mountOfflineBanner, openOfflineCopy, stopKeepingOfflineCopy } from "./offline.js";
import { flushOutbox, outboxHolds, showOutboxAgain, startOutbox } from "./outbox.js";
import { RealtimeClient } from "./realtime.js";
import { currentRoute, onRoute } from "./router.js";
import { state, update, watch } from "./store.js";
import { nextMuteEnd } from "./store/conversations.js";
import { bellCount } from "./store/notifications.js";
import { settingsOf } from "./store/settings.js";
import { me } from "./store/users.js";
import { mountAnnouncer } from "./views/announcer.js";
import { mountBell } from "./views/bell.js";
import { closeConversation, mountConversation, openConversation, showMessage } from "./views/conversation.js";
import { mountFriends } from "./views/friends.js";
import { mountMembers } from "./views/members.js";
import { mountNewChat } from "./views/newchat.js";
import { mountProfile } from "./views/profile.js";
import { mountSearch } from "./views/search.js";
import { mountSidebar, setActiveConversation } from "./views/sidebar.js";
import { mountSettings, openSettings } from "./views/settings.js";
import { registerWorker } from "./worker.js";

installErrorReporting();

const app = document.getElementById("app");
const statusEl = testid("connection-status");
const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

const userId = Number(document.body.dataset.userId);
const realtime = new RealtimeClient({ scope: document.body.dataset.userId });
registerEvents(realtime);
// Our settings and blocks, on start and on every stream open (their events may have been missed).
realtime.on("status", (status) => status === "connected" && loadAttention());
// The server can be reached again: what waits in the outbox goes.
realtime.on("status", (status) => status === "connected" && flushOutbox());
// Listen to the leader tab before fetching, so nothing relayed meanwhile is missed.
realtime.listen();
watchMissing();

watch("connection", () => {
  const { status, role } = state.connection;
  statusEl.dataset.state = status;
  statusEl.dataset.role = role;
  statusEl.querySelector(".conn-text").textContent = STATUS_TEXT[status];
  statusEl.title = `Live updates: ${STATUS_TEXT[status]}`;
});

// Our colour scheme (Settings → Appearance, any tab): the page was rendered with it; a change
// applies at once, to the page and the browser's bar (theme-color). "system" leaves it to the
// device's preference (the stylesheet's media query).
watch("settings", () => {
  const { theme } = settingsOf(state);
  document.documentElement.dataset.theme = theme;
  for (const meta of document.querySelectorAll('meta[name="theme-color"]')) {
    const scheme = meta.dataset.scheme;
    meta.media = theme === "system" ? `(prefers-color-scheme: ${scheme})` : theme === scheme ? "all" : "not all";
  }
});

// Presence, typing and receipts: fetched on each stream open, timers, our own activity.
mountEphemeral();
mountSidebar();
mountConversation();
mountBell();
mountFriends();
mountNewChat();
mountMembers();
mountSearch({ showMessage });
mountNotifier(realtime, { scope: document.body.dataset.userId, showMessage });
mountAnnouncer(realtime);

// A timed mute ends by itself: what depends on it (the sidebar, the bell) is drawn again then.
let muteTimer = null;
function watchMuteEnds() {
  clearTimeout(muteTimer);
  const end = nextMuteEnd(state);
  if (end === null) return;
  // (setTimeout's longest wait is about 24.8 days: a later end is looked at again then.)
  muteTimer = setTimeout(() => update(() => ["conversations"]), Math.min(end - Date.now() + 50, 2 ** 31 - 1));
}
watch("conversations", watchMuteEnds);

// The title counts what the bell counts (stored notifications, conversations with new messages).
function showCount() {
  const count = bellCount(state);
  document.title = count ? `(${count}) Tidings` : "Tidings";
}
watch("notifications", showCount);
watch("conversations", showCount);

function showMe() {
  const user = me(state);
  if (!user) return;
  testid("me-name").textContent = user.display_name;
  testid("me-username").textContent = `@${user.username}`;
  paintAvatar(testid("me-avatar"), user);
}
watch("session", showMe);
watch("users", showMe);

/** End the session(s) on the server, forget what this browser keeps for us (the outbox, the
 * copy of the sidebar, the service worker's caches), then send every tab of it to sign in. */
async function leave(options) {
  if (outboxHolds() && !confirm("Some of your messages have not been sent yet. Sign out and delete them?")) return;
  try {
    await signOut(options);
  } catch (error) {
    reportError("Couldn't sign out on the server", error);
  }
  await forgetThisDevice(userId);
  realtime.announceSignOut();
  location.assign("/login");
}
// Profile cards open from any name or avatar marked `data-profile-user-id`; settings from the gear.
mountProfile({ onSettings: openSettings });
mountSettings({
  signOutEverywhere: () => leave({ everywhere: true }),
  // The account is gone (its sessions with it): every tab of this browser goes to sign in.
  signedOut: async () => {
    await forgetThisDevice(userId);
    realtime.announceSignOut();
    location.assign("/login");
  },
});

testid("sign-out").addEventListener("click", () => leave({ everywhere: false }));
testid("sign-out-everywhere").addEventListener("click", () => {
  // Other devices' open tabs are signed out live: the server ends their streams.
  if (confirm("Sign out on every device, this one included?")) leave({ everywhere: true });
});

// The skip link goes to the open conversation's composer, leaving the hash (the route) alone.
const skipLink = document.querySelector(".skip-link");
skipLink.addEventListener("click", (event) => {
  event.preventDefault();
  testid("composer-input").focus();
});

function show(route) {
  app.dataset.view = route.view;
  skipLink.hidden = route.view !== "conversation";
  testid("empty-state").hidden = route.view !== "home";
  testid("conversation-view").hidden = route.view !== "conversation";
  testid("friends-view").hidden = route.view !== "friends";
  for (const tab of document.querySelectorAll(".tab")) {
    const current = (tab.dataset.testid === "nav-friends") === (route.view === "friends");
    tab.classList.toggle("active", current);
    if (current) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  setActiveConversation(route.view === "conversation" ? route.id : null);
  if (route.view === "conversation") openConversation(route.id);
  else closeConversation();
}

onRoute((route) => {
  if (state.meId !== null) show(route);
});

startOutbox(userId);
keepOfflineCopy(userId);
realtime.on("signout", stopKeepingOfflineCopy); // on its way to sign in (events.js)
mountOfflineBanner(testid("offline-banner"));
registerWorker({ appOpened: true });

/** No snapshot can be fetched: open with the copy of the sidebar, if this browser has one. */
function openOffline() {
  if (!openOfflineCopy(userId)) return;
  showOutboxAgain();
  show(currentRoute());
  app.dataset.ready = "offline";
}

if (await loadSnapshot(realtime, { onUnreachable: openOffline })) {
  show(currentRoute());
  app.dataset.ready = "true";
}
