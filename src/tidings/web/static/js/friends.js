// The Friends view: search people, send requests, answer incoming ones, list and remove friends.
// Everything follows `friend_request` and `friend_update` events.
import { api } from "./api.js";
import { avatar, h, setBadge, testid } from "./dom.js";
import {
  applyConversation,
  applyFriendRequest,
  applyFriendUpdate,
  directWith,
  sortedFriends,
  state,
  watch,
} from "./store.js";
import { go } from "./router.js";

const search = testid("friend-search");
const results = testid("search-results");
const error = testid("friends-error");
const incomingList = testid("incoming-requests");
const incomingEmpty = testid("incoming-empty");
const incomingCount = testid("incoming-count");
const outgoingSection = testid("outgoing-section");
const outgoingList = testid("outgoing-requests");
const friendList = testid("friend-list");
const friendsEmpty = testid("friends-empty");
const friendCount = testid("friend-count");
const requestsBadge = testid("requests-badge");

let found = [];
let searchTimer = null;
let searchSeq = 0;

export function mountFriends(realtime) {
  realtime.on("friend_request", ({ request }) => applyFriendRequest(request));
  realtime.on("friend_update", (update) => applyFriendUpdate(update));
  watch("friends", render);
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(runSearch, 200);
  });
}

async function runSearch() {
  const q = search.value.trim().toLowerCase();
  const seq = ++searchSeq;
  if (!q) {
    found = [];
    renderResults();
    return;
  }
  try {
    const users = await api("GET", `/api/users?q=${encodeURIComponent(q)}&limit=10`);
    if (seq !== searchSeq) return;
    found = users;
    showError(null);
    renderResults(q);
  } catch (err) {
    showError(err.message);
  }
}

function showError(message) {
  error.hidden = !message;
  error.textContent = message ?? "";
}

async function act(button, promise) {
  button.disabled = true;
  try {
    const result = await promise();
    showError(null);
    return result;
  } catch (err) {
    showError(err.message);
    button.disabled = false;
    return null;
  }
}

/** Open (or start) the direct conversation with a friend. */
export async function messageFriend(user) {
  const existing = directWith(user.id);
  if (existing) {
    go(`#/c/${existing.id}`);
    return;
  }
  const conversation = await api("POST", "/api/conversations", { type: "direct", user_id: user.id });
  if (!state.conversations.has(conversation.id)) applyConversation(conversation);
  go(`#/c/${conversation.id}`);
}

function person(user, testId, ...actions) {
  return h(
    "li",
    { class: "person", testid: testId, dataset: { userId: String(user.id), username: user.username } },
    avatar(user),
    h("span", { class: "person-names" }, h("strong", { text: user.display_name }), h("small", { text: `@${user.username}` })),
    h("span", { class: "person-actions" }, ...actions),
  );
}

function button(label, onclick, { primary = false, danger = false, testId } = {}) {
  const cls = `btn btn-sm${primary ? " btn-primary" : ""}${danger ? " btn-danger" : ""}`;
  return h("button", { class: cls, type: "button", testid: testId, text: label, onclick });
}

function relation(user) {
  if (state.friends.has(user.id)) return "friend";
  for (const r of state.outgoing.values()) if (r.addressee.id === user.id) return "requested";
  for (const r of state.incoming.values()) if (r.requester.id === user.id) return r;
  return null;
}

function renderResults(q = search.value.trim()) {
  if (q && found.length === 0) {
    results.replaceChildren(h("li", { class: "muted", text: `Nobody's username starts with “${q}”.` }));
    return;
  }
  results.replaceChildren(
    ...found.map((user) => {
      const rel = relation(user);
      if (rel === "friend") {
        return person(user, "search-result", h("span", { class: "tag", text: "Friends" }), button("Message", () => messageFriend(user), { testId: "message-friend" }));
      }
      if (rel === "requested") return person(user, "search-result", h("span", { class: "tag", text: "Requested" }));
      if (rel) {
        const b = button("Accept", () => act(b, () => accept(rel)), { primary: true, testId: "accept-request" });
        return person(user, "search-result", b);
      }
      const add = button("Add friend", () => act(add, () => sendRequest(user)), { primary: true, testId: "add-friend" });
      return person(user, "search-result", add);
    }),
  );
}

async function sendRequest(user) {
  const { request } = await api("POST", "/api/friends/request", { username: user.username });
  applyFriendRequest(request);
}

async function accept(request) {
  const { request: answered } = await api("POST", `/api/friends/requests/${request.id}/accept`);
  applyFriendRequest(answered);
}

function render() {
  const incoming = [...state.incoming.values()].sort((a, b) => b.id - a.id);
  incomingList.replaceChildren(
    ...incoming.map((r) => {
      const yes = button("Accept", () => act(yes, () => accept(r)), { primary: true, testId: "accept-request" });
      const no = button("Decline", () => act(no, async () => applyFriendRequest((await api("POST", `/api/friends/requests/${r.id}/decline`)).request)), { testId: "decline-request" });
      return person(r.requester, "incoming-request", yes, no);
    }),
  );
  incomingEmpty.hidden = incoming.length > 0;
  incomingCount.textContent = incoming.length ? String(incoming.length) : "";
  setBadge(requestsBadge, incoming.length);

  const outgoing = [...state.outgoing.values()].sort((a, b) => b.id - a.id);
  outgoingSection.hidden = outgoing.length === 0;
  outgoingList.replaceChildren(
    ...outgoing.map((r) => {
      const cancel = button("Cancel", () => act(cancel, async () => applyFriendRequest((await api("POST", `/api/friends/requests/${r.id}/cancel`)).request)), { testId: "cancel-request" });
      return person(r.addressee, "outgoing-request", h("span", { class: "tag", text: "Pending" }), cancel);
    }),
  );

  const friends = sortedFriends();
  friendList.replaceChildren(
    ...friends.map((f) => {
      const remove = button("Remove", () => confirmRemove(remove, f), { danger: true, testId: "remove-friend" });
      return person(f, "friend-item", button("Message", () => messageFriend(f), { testId: "message-friend" }), remove);
    }),
  );
  friendsEmpty.hidden = friends.length > 0;
  friendCount.textContent = friends.length ? String(friends.length) : "";
  if (found.length) renderResults();
}

function confirmRemove(el, friend) {
  if (el.dataset.confirm !== "true") {
    el.dataset.confirm = "true";
    el.textContent = `Remove ${friend.display_name}?`;
    el.setAttribute("aria-label", `Confirm: remove ${friend.display_name} from your friends`);
    setTimeout(() => {
      el.dataset.confirm = "false";
      el.textContent = "Remove";
      el.removeAttribute("aria-label");
    }, 5000);
    return;
  }
  act(el, async () => {
    await api("DELETE", `/api/friends/${friend.id}`);
    applyFriendUpdate({ friend, status: "removed" });
  });
}
