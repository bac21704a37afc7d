// "New chat": message a friend, or create a group of friends. The dialog lists the friends in the
// store, and follows them while it is open (a ticked box stays ticked).
import { createGroup } from "../actions.js";
import { attempt, showIn } from "../errors.js";
import { h, paintAvatar, renderKeyed, testid } from "../dom.js";
import { go } from "../router.js";
import { state, watch } from "../store.js";
import { sortedFriends } from "../store/friends.js";
import { messageFriend } from "./friends.js";

const dialog = testid("new-chat-dialog");
const dmList = testid("dm-friends");
const noFriends = testid("dialog-no-friends");
const groupName = testid("group-name");
const members = testid("group-members");
const error = testid("new-chat-error");
const create = testid("create-group");

export function mountNewChat() {
  testid("new-chat-button").addEventListener("click", openDialog);
  create.addEventListener("click", createGroupFromForm);
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  noFriends.querySelector("a").addEventListener("click", () => dialog.close());
  for (const topic of ["friends", "users"]) {
    watch(topic, () => {
      if (dialog.open) render();
    });
  }
}

function openDialog() {
  render({ fresh: true });
  groupName.value = "";
  showIn(error, null);
  dialog.showModal();
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
      li.querySelector("strong").textContent = f.display_name;
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
      label.querySelector(".check-name").textContent = f.display_name;
    },
  );
  noFriends.hidden = friends.length > 0;
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
