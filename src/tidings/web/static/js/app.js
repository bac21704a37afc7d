// The app shell: fetch the snapshot, start the realtime client, route between views.
import { api } from "./api.js";
import { mountBell } from "./bell.js";
import { closeConversation, mountConversation, openConversation } from "./conversation.js";
import { paintAvatar, testid } from "./dom.js";
import { mountFriends } from "./friends.js";
import { mountNewChat } from "./newchat.js";
import { RealtimeClient } from "./realtime.js";
import { currentRoute, onRoute } from "./router.js";
import { setActiveConversation, mountSidebar } from "./sidebar.js";
import { bellCount, loadSnapshot, state, watch } from "./store.js";

const app = document.getElementById("app");
const statusEl = testid("connection-status");
const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};

const realtime = new RealtimeClient({ scope: document.body.dataset.userId });
// Listen to the leader tab before fetching, so nothing relayed meanwhile is missed.
realtime.listen();

realtime.on("status", (status) => {
  statusEl.dataset.state = status;
  statusEl.querySelector(".conn-text").textContent = STATUS_TEXT[status];
  statusEl.title = `Live updates: ${STATUS_TEXT[status]}`;
});
realtime.on("role", (role) => {
  statusEl.dataset.role = role;
});
realtime.on("signout", () => location.assign("/login"));
realtime.on("resync", () => refresh());

mountSidebar(realtime);
mountConversation(realtime);
mountBell(realtime);
mountFriends(realtime);
mountNewChat();

// The title counts what the bell counts (stored notifications, conversations with new messages).
function showCount() {
  const count = bellCount();
  document.title = count ? `(${count}) Tidings` : "Tidings";
}
watch("notifications", showCount);
watch("conversations", showCount);
watch("me", () => {
  testid("me-name").textContent = state.me.display_name;
  testid("me-username").textContent = `@${state.me.username}`;
  paintAvatar(testid("me-avatar"), state.me);
});

/** End the session(s) on the server, then send every tab of this browser to sign in. */
async function signOut(path) {
  try {
    await api("POST", path);
  } finally {
    realtime.announceSignOut();
    location.assign("/login");
  }
}
testid("sign-out").addEventListener("click", () => signOut("/api/auth/logout"));
testid("sign-out-everywhere").addEventListener("click", () => {
  // Other devices' open tabs are signed out live: the server ends their streams.
  if (confirm("Sign out on every device, this one included?")) signOut("/api/auth/logout-everywhere");
});

/** Fetch the snapshot; events are held meanwhile and only newer ones applied after. */
async function refresh() {
  realtime.hold();
  let snapshot;
  try {
    snapshot = await api("GET", "/api/bootstrap");
  } catch (error) {
    if (error.status === 401) {
      location.assign("/login");
      return;
    }
    statusEl.dataset.state = "offline";
    statusEl.querySelector(".conn-text").textContent = "Offline";
    setTimeout(refresh, 3000);
    return;
  }
  loadSnapshot(snapshot);
  realtime.resume(snapshot.last_event_id);
}

function show(route) {
  app.dataset.view = route.view;
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
  if (state.me) show(route);
});
await refresh();
show(currentRoute());
app.dataset.ready = "true";
