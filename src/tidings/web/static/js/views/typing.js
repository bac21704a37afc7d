// "alice is typing…" above the composer of the open conversation, from store/typing.js (kept by
// `typing` events, emptied when they run out, stop, or the typist's message arrives). A polite
// live region: screen readers hear it without losing their place. The line keeps its height
// when empty, so the composer does not jump as people start and stop.
import { h } from "../dom.js";
import { state, watch } from "../store.js";
import { typingText, typistsIn } from "../store/typing.js";
import { userById } from "../store/users.js";

let line = null;
let openId = null;

/** Put the typing line before `anchor` (the element above the composer). */
export function mountTyping(anchor) {
  line = h("p", { class: "typing-line", testid: "typing-indicator", "aria-live": "polite" });
  anchor.before(line);
  watch("typing", (id) => {
    if (id === openId) draw();
  });
  watch("users", () => draw());
}

/** The open conversation changed (null: none). */
export function showTypingIn(id) {
  openId = id;
  draw();
}

function draw() {
  const ids = openId === null ? [] : typistsIn(state, openId);
  const text = typingText(ids.map((id) => userById(state, id).display_name));
  if (line.textContent !== text) line.textContent = text;
}
