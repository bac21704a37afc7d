// Read receipts under our last message in the open conversation (an item of its message list,
// drawn by views/conversation.js's renderKeyed): in a DM "Seen" once the other person has read
// it; in a group "Seen by N", a button opening the list of who has (fetched again on opening,
// live while open). From store/receipts.js, kept by `read_receipt` events and ephemeral.js.
import { refreshReceipts } from "../ephemeral.js";
import { h } from "../dom.js";
import { state } from "../store.js";
import { sortedMessages } from "../store/messages.js";
import { mayBeMoreReaders, seenBy } from "../store/receipts.js";
import { userById } from "../store/users.js";

let listOpen = null; // the message id whose "Seen by" list is open
const receiptOf = new WeakMap(); // receipt element -> what it shows

/** Our last message in conversation `id` (sent, not a system line), or null. */
export function ourLastMessage(state, id) {
  const messages = sortedMessages(state, id);
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const m = messages[i];
    if (m.sender_id === state.meId && !m.system && m.id !== undefined) return m.deleted ? null : m;
  }
  return null;
}

/** The receipt item to show after our last message of conversation `id`, or null (not seen). */
export function receiptItem(id) {
  const conversation = state.conversations.get(id);
  const message = conversation && ourLastMessage(state, id);
  if (!message) return null;
  const readers = seenBy(state, id, message.id).filter((userId) => conversation.member_ids.includes(userId));
  if (!readers.length) return null;
  const more = mayBeMoreReaders(state, id, readers.length);
  return { key: "receipt", receipt: { conversationId: id, messageId: message.id, group: conversation.type === "group", readers, more } };
}

export function createReceipt() {
  return h("li", { class: "receipt-line", testid: "read-receipt" });
}

/** Draw "Seen" (a DM) or "Seen by N" and, if open, its list (a group). */
export function updateReceipt(li, { receipt }) {
  const { conversationId, messageId, group, readers } = receipt;
  li.dataset.receiptFor = String(messageId);
  if (!group) {
    if (li.textContent !== "Seen" || li.childElementCount) li.replaceChildren("Seen");
    li.title = `Seen by ${userById(state, readers[0]).display_name}`;
    return;
  }
  let button = li.querySelector(":scope > button");
  if (!button) {
    button = h("button", { class: "link-btn", type: "button", testid: "seen-by", "aria-haspopup": "true", "aria-expanded": "false" });
    button.addEventListener("click", () => {
      listenForClosing();
      listOpen = listOpen === messageId ? null : messageId;
      if (listOpen !== null) refreshReceipts(conversationId);
      drawList(li, button, receiptOf.get(li));
    });
    li.replaceChildren(button);
  }
  receiptOf.set(li, receipt);
  button.textContent = `Seen by ${readers.length}${receipt.more ? "+" : ""}`;
  drawList(li, button, receipt);
}

function drawList(li, button, { messageId, readers }) {
  const open = listOpen === messageId;
  button.setAttribute("aria-expanded", String(open));
  let list = li.querySelector(".seen-list");
  if (!open) {
    list?.remove();
    return;
  }
  if (!list) {
    list = h("ul", { class: "seen-list", testid: "seen-by-list", "aria-label": "Seen by" });
    li.append(list);
  }
  const names = readers.map((id) => userById(state, id).display_name).sort((a, b) => a.localeCompare(b));
  list.replaceChildren(...names.map((name) => h("li", { text: name })));
}

let listening = false;

/** A click elsewhere or Escape closes the list (listened for once a list was opened). */
function listenForClosing() {
  if (listening) return;
  listening = true;
  document.addEventListener("pointerdown", (event) => {
    if (listOpen !== null && !event.target.closest?.("[data-testid=read-receipt]")) closeSeenList();
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && listOpen !== null) closeSeenList();
  });
}

/** Close an open "Seen by" list (a click elsewhere, Escape, another conversation). */
export function closeSeenList() {
  if (listOpen === null) return;
  listOpen = null;
  for (const li of document.querySelectorAll("[data-testid=read-receipt]")) {
    const button = li.querySelector(":scope > button");
    if (button && receiptOf.has(li)) drawList(li, button, receiptOf.get(li));
  }
}
