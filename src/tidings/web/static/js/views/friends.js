// The Friends view: search people, send requests, answer incoming ones, list and remove friends.
// Everything is drawn from the store (kept current by `friend_request` and `friend_update`
// events and by the answers to our own requests); each list keeps one row per person or
// request, updated in place. A failed action says why in the view's own error line.
import { answerFriendRequest, directConversation, removeFriend, sendFriendRequest } from "../actions.js";
import { attempt, reportError, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed, setBadge, testid } from "../dom.js";
import { go } from "../router.js";
import { state, watch } from "../store.js";
import { incomingRequests, outgoingRequests, relation, sortedFriends } from "../store/friends.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { navigable, peopleSearch } from "./people.js";
import { paintPresence, presenceSuffix } from "./presence.js";

const CONFIRM_MS = 5000;

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

let found = []; // user ids, in the order the search answered
let searched = ""; // the query `found` answers

// Search as you type: results replace the previous ones when they arrive (friends first, marked).
const people = peopleSearch({
  onChange: onSearchChange,
  describeError: (e) => reportError("Couldn't search", e, () => {}),
});

export function mountFriends() {
  watch("friends", render);
  watch("users", render);
  watch("presence", render);
  search.addEventListener("input", () => people.set(search.value));
  navigable(search, results, (li) => li.querySelector(".person-actions button") ?? li.querySelector(".person-names"));
}

function onSearchChange() {
  showIn(error, people.error ? `Couldn't search: ${people.error}` : null);
  if (!people.query) {
    found = [];
    searched = "";
  } else if (people.done) {
    found = people.results;
    searched = people.query;
  } else {
    return; // the previous results stay until the answer to this query replaces them
  }
  renderResults();
}

/** Run a row's action with its button disabled; a failure shows in the view's error line. */
async function act(button, what, action) {
  button.disabled = true;
  const done = await attempt(what, async () => {
    await action();
    return true;
  }, error);
  if (done) showIn(error, null);
  else button.disabled = false;
}

/** Open (or start) the direct conversation with someone. */
export async function messageFriend(userId) {
  const id = await attempt("Couldn't open the conversation", () => directConversation(userId));
  if (id !== undefined) go(`#/c/${id}`);
}

// Rows ----------------------------------------------------------------------------------------

function button(label, onclick, { primary = false, danger = false, testId } = {}) {
  const cls = `btn btn-sm${primary ? " btn-primary" : ""}${danger ? " btn-danger" : ""}`;
  return h("button", { class: cls, type: "button", testid: testId, text: label, onclick });
}

/** A row for a person; `actions(userId)` makes its buttons, redone when `actionsKey` changes. */
function personRow(testId) {
  return () =>
    h(
      "li",
      { class: "person", testid: testId },
      h("span", { class: "avatar", "aria-hidden": "true" }),
      // The name opens the person's profile card (profile.js), by mouse or keyboard; it is read
      // as shown (WCAG's label in name), with their presence in words.
      h("span", { class: "person-names", role: "button", tabindex: "0", title: "Show profile" }, h("strong"), h("small"), h("span", { class: "visually-hidden person-presence" })),
      h("span", { class: "person-actions" }),
    );
}

const drawnActions = new WeakMap(); // row -> the key of the actions it shows

function drawPerson(li, user, actionsKey, actions) {
  li.dataset.userId = String(user.id);
  li.dataset.username = user.username;
  paintAvatar(li.querySelector(".avatar"), user);
  paintPresence(li.querySelector(".avatar"), user.id);
  showName(li.querySelector("strong"), user.display_name, user);
  li.querySelector("small").textContent = `@${user.username}`;
  li.querySelector(".avatar").dataset.profileUserId = String(user.id);
  const names = li.querySelector(".person-names");
  names.dataset.profileUserId = String(user.id);
  names.querySelector(".person-presence").textContent = presenceSuffix(user.id);
  if (drawnActions.get(li) !== actionsKey) {
    drawnActions.set(li, actionsKey);
    li.querySelector(".person-actions").replaceChildren(...actions());
  }
}

function acceptButton(requestId) {
  const b = button("Accept", () => act(b, "Couldn't accept the request", () => answerFriendRequest(requestId, "accept")), { primary: true, testId: "accept-request" });
  return b;
}

function resultActions(userId, rel) {
  if (rel === "friend") {
    return [h("span", { class: "tag", text: "Friends" }), button("Message", () => messageFriend(userId), { testId: "message-friend" })];
  }
  if (rel === "requested") return [h("span", { class: "tag", text: "Requested" })];
  if (rel) return [acceptButton(rel.id)];
  const add = button("Add friend", () => act(add, "Couldn't send the friend request", () => sendFriendRequest(userById(state, userId).username)), { primary: true, testId: "add-friend" });
  return [add];
}

function renderResults() {
  if (searched && found.length === 0) {
    renderKeyed(results, [searched], () => "none", () => h("li", { class: "muted" }), (li, q) => {
      li.textContent = `Nobody found for “${q}”.`;
    });
    return;
  }
  const createRow = personRow("search-result");
  renderKeyed(results, found, (id) => id, createRow, (li, id) => {
    const rel = relation(state, id);
    const key = rel === null || typeof rel === "string" ? String(rel) : `incoming:${rel.id}`;
    drawPerson(li, userById(state, id), key, () => resultActions(id, rel));
  });
}

function confirmRemove(el, userId) {
  const friend = userById(state, userId);
  if (el.dataset.confirm !== "true") {
    el.dataset.confirm = "true";
    el.textContent = `Remove ${friend.display_name}?`;
    el.setAttribute("aria-label", `Confirm: remove ${friend.display_name} from your friends`);
    setTimeout(() => {
      el.dataset.confirm = "false";
      el.textContent = "Remove";
      el.removeAttribute("aria-label");
    }, CONFIRM_MS);
    return;
  }
  act(el, "Couldn't remove the friend", () => removeFriend(userId));
}

function render() {
  if (state.meId === null) return;
  const incoming = incomingRequests(state);
  renderKeyed(incomingList, incoming, (r) => r.id, personRow("incoming-request"), (li, r) => {
    drawPerson(li, userById(state, r.requester_id), "incoming", () => {
      const no = button("Decline", () => act(no, "Couldn't decline the request", () => answerFriendRequest(r.id, "decline")), { testId: "decline-request" });
      return [acceptButton(r.id), no];
    });
  });
  incomingEmpty.hidden = incoming.length > 0;
  incomingCount.textContent = incoming.length ? String(incoming.length) : "";
  setBadge(requestsBadge, incoming.length);

  const outgoing = outgoingRequests(state);
  outgoingSection.hidden = outgoing.length === 0;
  renderKeyed(outgoingList, outgoing, (r) => r.id, personRow("outgoing-request"), (li, r) => {
    drawPerson(li, userById(state, r.addressee_id), "outgoing", () => {
      const cancel = button("Cancel", () => act(cancel, "Couldn't cancel the request", () => answerFriendRequest(r.id, "cancel")), { testId: "cancel-request" });
      return [h("span", { class: "tag", text: "Pending" }), cancel];
    });
  });

  const friends = sortedFriends(state);
  renderKeyed(friendList, friends, (f) => f.id, personRow("friend-item"), (li, f) => {
    drawPerson(li, f, "friend", () => {
      const remove = button("Remove", () => confirmRemove(remove, f.id), { danger: true, testId: "remove-friend" });
      return [button("Message", () => messageFriend(f.id), { testId: "message-friend" }), remove];
    });
  });
  friendsEmpty.hidden = friends.length > 0;
  friendCount.textContent = friends.length ? String(friends.length) : "";
  if (found.length) renderResults();
}
