// "New chat": message a friend, or create a group of friends. The dialog lists the friends in the
// store, and follows them while it is open (a ticked box stays ticked). Its search box finds
// anyone as you type (views/people.js): a friend's row starts the conversation, anyone else's
// offers a friend request (a direct conversation needs a friendship).
import { answerFriendRequest, createGroup, sendFriendRequest } from "../actions.js";
import { attempt, reportError, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { go } from "../router.js";
import { state, watch } from "../store.js";
import { relation, sortedFriends } from "../store/friends.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { trapFocus } from "./focus.js";
import { messageFriend } from "./friends.js";
import { navigable, peopleSearch } from "./people.js";

const dialog = testid("new-chat-dialog");
const dmList = testid("dm-friends");
const noFriends = testid("dialog-no-friends");
const groupName = testid("group-name");
const members = testid("group-members");
const error = testid("new-chat-error");
const create = testid("create-group");
const searchInput = testid("new-chat-search");
const searchError = testid("new-chat-search-error");
const found = testid("new-chat-results");

const people = peopleSearch({
  onChange: () => {
    if (dialog.open) renderFound();
  },
  describeError: (e) => reportError("Couldn't search", e, () => {}),
});

export function mountNewChat() {
  testid("new-chat-button").addEventListener("click", openDialog);
  trapFocus(dialog);
  create.addEventListener("click", createGroupFromForm);
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  noFriends.querySelector("a").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    // Escape closes, also from the search box with text in it (which it would otherwise clear).
    if (event.key !== "Escape" || event.isComposing) return;
    event.preventDefault();
    dialog.close();
  });
  searchInput.addEventListener("input", () => people.set(searchInput.value));
  searchInput.addEventListener("keydown", (event) => {
    // Enter acts on the best match instead of submitting (closing) the dialog's form.
    if (event.key !== "Enter" || event.isComposing) return;
    event.preventDefault();
    const first = found.hidden ? null : found.querySelector("li");
    if (first) resultTarget(first)?.click();
  });
  navigable(searchInput, found, resultTarget);
  for (const topic of ["friends", "users"]) {
    watch(topic, () => {
      if (dialog.open) render();
    });
  }
}

function openDialog() {
  searchInput.value = "";
  people.set("");
  render({ fresh: true });
  groupName.value = "";
  showIn(error, null);
  dialog.showModal();
}

/** A found person's button: "Message" for a friend, else "Add friend" or "Accept" (or none). */
function resultTarget(li) {
  return li.querySelector(".person-actions button");
}

function resultActions(user) {
  const rel = relation(state, user.id);
  if (rel === "friend") {
    return [
      h("span", { class: "tag", text: "Friend" }),
      h("button", { class: "btn btn-sm btn-primary", type: "button", testid: "new-chat-message", text: "Message", onclick: () => startDm(user.id) }),
    ];
  }
  if (rel === "requested") return [h("span", { class: "tag", text: "Requested" })];
  const button = (label, testId, action) => {
    const b = h("button", {
      class: "btn btn-sm btn-primary",
      type: "button",
      testid: testId,
      text: label,
      onclick: async () => {
        b.disabled = true;
        const done = await attempt(`Couldn't ${label.toLowerCase()}`, async () => (await action(), true), searchError);
        if (!done) b.disabled = false;
      },
    });
    return b;
  };
  if (rel) return [button("Accept", "new-chat-accept", () => answerFriendRequest(rel.id, "accept"))];
  return [button("Add friend", "new-chat-add-friend", () => sendFriendRequest(user.username))];
}

/** The people found for the search box's query (while there is one, instead of the friends). */
function renderFound() {
  const searching = people.query !== "";
  showIn(searchError, people.error ? `Couldn't search: ${people.error}` : null);
  dmList.hidden = searching;
  noFriends.hidden = searching || sortedFriends(state).length > 0;
  if (!searching) renderKeyed(found, [], (id) => id);
  // While the answer to a new query is on its way, the previous answer stays.
  found.hidden = !searching || (!people.done && found.childElementCount === 0);
  if (!searching || !people.done) return;
  const ids = people.results.filter((id) => userById(state, id));
  if (ids.length === 0) {
    renderKeyed(found, [people.query], () => "none", () => h("li", { class: "muted" }), (li, q) => {
      li.textContent = `Nobody found for “${q}”.`;
    });
    return;
  }
  renderKeyed(
    found,
    ids,
    (id) => id,
    () =>
      h(
        "li",
        { class: "person", testid: "new-chat-result" },
        h("span", { class: "avatar", "aria-hidden": "true" }),
        h("span", { class: "person-names" }, h("strong"), h("small")),
        h("span", { class: "person-actions" }),
      ),
    (li, id) => {
      const user = userById(state, id);
      const rel = relation(state, id);
      const key = rel === null || typeof rel === "string" ? String(rel) : `incoming:${rel.id}`;
      li.dataset.userId = String(id);
      li.dataset.username = user.username;
      paintAvatar(li.querySelector(".avatar"), user);
      showName(li.querySelector("strong"), user.display_name, user);
      li.querySelector("small").textContent = `@${user.username}`;
      if (li.dataset.actions !== key) {
        li.dataset.actions = key;
        li.querySelector(".person-actions").replaceChildren(...resultActions(user));
      }
    },
  );
}

function render({ fresh = false } = {}) {
  const friends = sortedFriends(state);
  renderKeyed(
    dmList,
    friends,
    (f) => f.id,
    (f) =>
      h(
        "li",
        null,
        h(
          "button",
          { class: "person person-btn", type: "button", testid: "dm-friend", onclick: () => startDm(f.id) },
          h("span", { class: "avatar", "aria-hidden": "true" }),
          h("span", { class: "person-names" }, h("strong"), h("small")),
        ),
      ),
    (li, f) => {
      paintAvatar(li.querySelector(".avatar"), f);
      showName(li.querySelector("strong"), f.display_name, f);
      li.querySelector("small").textContent = `@${f.username}`;
    },
  );
  renderKeyed(
    members,
    friends,
    (f) => f.id,
    (f) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "member", value: String(f.id), testid: "group-member" }),
        h("span", { class: "avatar avatar-sm", "aria-hidden": "true" }),
        h("span", { class: "check-name" }),
      ),
    (label, f) => {
      if (fresh) label.querySelector("input").checked = false;
      paintAvatar(label.querySelector(".avatar"), f);
      showName(label.querySelector(".check-name"), f.display_name, f);
    },
  );
  noFriends.hidden = friends.length > 0;
  renderFound();
}

async function startDm(userId) {
  dialog.close();
  await messageFriend(userId);
}

async function createGroupFromForm() {
  const ids = [...members.querySelectorAll("input:checked")].map((i) => Number(i.value));
  const name = groupName.value.trim();
  if (!name || ids.length === 0) {
    showIn(error, "Give the group a name and pick at least one friend.");
    return;
  }
  create.disabled = true;
  const id = await attempt("Couldn't create the group", () => createGroup(name, ids), error);
  create.disabled = false;
  if (id === undefined) return;
  dialog.close();
  go(`#/c/${id}`);
}
