// "New chat": message a friend, or create a group of friends.
import { api } from "./api.js";
import { avatar, h, testid } from "./dom.js";
import { applyConversation, sortedFriends, state } from "./store.js";
import { messageFriend } from "./friends.js";
import { go } from "./router.js";

const dialog = testid("new-chat-dialog");
const dmList = testid("dm-friends");
const noFriends = testid("dialog-no-friends");
const groupName = testid("group-name");
const members = testid("group-members");
const error = testid("new-chat-error");
const create = testid("create-group");

export function mountNewChat() {
  testid("new-chat-button").addEventListener("click", openDialog);
  create.addEventListener("click", createGroup);
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  noFriends.querySelector("a").addEventListener("click", () => dialog.close());
}

function openDialog() {
  const friends = sortedFriends();
  dmList.replaceChildren(
    ...friends.map((f) =>
      h(
        "li",
        null,
        h(
          "button",
          { class: "person person-btn", type: "button", testid: "dm-friend", onclick: () => startDm(f) },
          avatar(f),
          h("span", { class: "person-names" }, h("strong", { text: f.display_name }), h("small", { text: `@${f.username}` })),
        ),
      ),
    ),
  );
  members.replaceChildren(
    ...friends.map((f) =>
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", name: "member", value: String(f.id), testid: "group-member" }),
        avatar(f, "avatar-sm"),
        h("span", { text: f.display_name }),
      ),
    ),
  );
  noFriends.hidden = friends.length > 0;
  groupName.value = "";
  error.hidden = true;
  dialog.showModal();
}

async function startDm(friend) {
  dialog.close();
  await messageFriend(friend);
}

async function createGroup() {
  const ids = [...members.querySelectorAll("input:checked")].map((i) => Number(i.value));
  const name = groupName.value.trim();
  if (!name || ids.length === 0) {
    error.textContent = "Give the group a name and pick at least one friend.";
    error.hidden = false;
    return;
  }
  create.disabled = true;
  try {
    const conversation = await api("POST", "/api/conversations", { type: "group", name, member_ids: ids });
    if (!state.conversations.has(conversation.id)) applyConversation(conversation);
    dialog.close();
    go(`#/c/${conversation.id}`);
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    create.disabled = false;
  }
}
