// @mention autocomplete in a textarea: typing "@al" lists the members whose username or display
// name starts with "al" (not you), ↑/↓ choose, Enter or Tab (or a click) writes "@username ",
// Escape closes. The ARIA combobox pattern as far as a textarea allows, keeping its textbox role
// (the composer is found as one, and a textbox may not have aria-expanded or aria-haspopup):
// aria-autocomplete, aria-controls and aria-activedescendant on it, a role=listbox of
// role=option under it.
//
// The pure parts (what is being typed, who matches, the text after choosing) are exported for
// tests; the list is built with createElement and text nodes only.
import { botBadge } from "./badge.js";

const NAME_CHAR = /[A-Za-z0-9_]/;
const ALNUM = /[\p{L}\p{N}]/u;
const MAX_QUERY = 32;
const MAX_OPTIONS = 8;

let lists = 0; // for unique element ids

/** The mention being typed at `caret`: `{start, end, query}` (start at the "@", end after the
 * name-like word the caret is in), or null when the caret is not in one. */
export function mentionQuery(value, caret) {
  let start = caret;
  while (start > 0 && caret - start <= MAX_QUERY && NAME_CHAR.test(value[start - 1])) start--;
  if (start === 0 || value[start - 1] !== "@" || caret - start > MAX_QUERY) return null;
  const at = start - 1;
  if (at > 0 && ALNUM.test(value[at - 1])) return null; // an e-mail address, not a mention
  let end = caret;
  while (end < value.length && NAME_CHAR.test(value[end])) end++;
  return { start: at, end, query: value.slice(start, caret) };
}

/** Members whose username, display name or a word of it starts with `query` (any case), not
 * `me`: usernames that match first, then by username; at most `limit`. */
export function matchingMembers(members, query, { me, limit = MAX_OPTIONS } = {}) {
  const q = query.toLowerCase();
  const scored = [];
  for (const user of members ?? []) {
    if (!user?.username || user.id === me) continue;
    const username = user.username.toLowerCase();
    const name = (user.display_name ?? "").toLowerCase();
    const byUsername = username.startsWith(q);
    const byName = name.startsWith(q) || name.split(/\s+/).some((word) => word.startsWith(q));
    if (byUsername || byName) scored.push({ user, rank: byUsername ? 0 : 1, username });
  }
  scored.sort((a, b) => a.rank - b.rank || (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
  return scored.slice(0, limit).map((s) => s.user);
}

/** `value` with the mention at `range` replaced by "@username " (one space, reusing one that
 * follows), and the caret after it. */
export function insertMention(value, range, username) {
  const rest = value.slice(range.end);
  const text = `@${username}${/^\s/.test(rest) ? "" : " "}`;
  const caret = range.start + text.length + (/^\s/.test(rest) ? 1 : 0);
  return { value: value.slice(0, range.start) + text + rest, caret };
}

/**
 * Autocomplete mentions in `textarea` among `getMembers()` (users `{id, username,
 * display_name}`, called at each keystroke, so it follows the open conversation). Options:
 * `doc`, `me` (the viewer's id, left out). The list goes right after the textarea, in its
 * parent (which gets the class `mention-host`). Returns a function that undoes it all.
 */
export function attachMentionAutocomplete(textarea, getMembers, { doc = textarea.ownerDocument, me } = {}) {
  const id = `mention-list-${++lists}`;
  const list = doc.createElement("ul");
  list.id = id;
  list.className = "mention-list";
  list.setAttribute("role", "listbox");
  list.setAttribute("aria-label", "People to mention");
  list.dataset.testid = "mention-list";
  list.hidden = true;
  textarea.after(list);
  textarea.parentElement?.classList.add("mention-host");
  textarea.setAttribute("aria-autocomplete", "list");
  textarea.setAttribute("aria-controls", id);

  let range = null; // the mention being typed, while the list is open
  let options = []; // the users listed
  let active = 0;
  let dismissed = null; // the "@" position Escape closed the list at

  function close() {
    range = null;
    options = [];
    list.hidden = true;
    list.replaceChildren();
    textarea.removeAttribute("aria-activedescendant");
  }

  function update() {
    const caret = textarea.selectionStart;
    const found = textarea.selectionEnd === caret ? mentionQuery(textarea.value, caret) : null;
    if (dismissed !== null && found?.start !== dismissed) dismissed = null;
    const matches = found && dismissed === null ? matchingMembers(getMembers(), found.query, { me }) : [];
    if (!matches.length) {
      close();
      return;
    }
    const same = matches.length === options.length && matches.every((user, i) => user.id === options[i].id);
    range = found;
    if (!same) {
      const activeId = options[active]?.id;
      options = matches;
      active = Math.max(0, options.findIndex((user) => user.id === activeId));
      list.replaceChildren(...options.map(optionElement));
    }
    list.hidden = false;
    highlight();
  }

  function optionElement(user, index) {
    const li = doc.createElement("li");
    li.id = `${id}-${index}`;
    li.className = "mention-option";
    li.setAttribute("role", "option");
    li.dataset.testid = "mention-option";
    li.dataset.userId = String(user.id);
    const name = doc.createElement("span");
    name.className = "mention-option-name";
    name.append(doc.createTextNode(user.display_name || user.username));
    if (user.bot) name.append(botBadge());
    const handle = doc.createElement("span");
    handle.className = "mention-option-username";
    handle.append(doc.createTextNode(`@${user.username}`));
    li.append(name, handle);
    // The textarea keeps the focus (and so the caret) through the click.
    li.addEventListener("mousedown", (event) => event.preventDefault());
    li.addEventListener("click", () => choose(index));
    return li;
  }

  function highlight() {
    for (const [i, li] of [...list.children].entries()) li.setAttribute("aria-selected", String(i === active));
    const current = list.children[active];
    if (current) {
      textarea.setAttribute("aria-activedescendant", current.id);
      current.scrollIntoView?.({ block: "nearest" });
    }
  }

  function choose(index) {
    const user = options[index];
    if (!user || !range) return;
    const next = insertMention(textarea.value, range, user.username);
    close();
    textarea.value = next.value;
    textarea.setSelectionRange(next.caret, next.caret);
    textarea.focus({ preventScroll: true });
    // What listens to typing (the send button's state) hears it as typing.
    textarea.dispatchEvent(new (doc.defaultView ?? globalThis).Event("input", { bubbles: true }));
  }

  // Capture: at the textarea, before the composer's own Enter-sends listener.
  function keydown(event) {
    if (list.hidden || event.isComposing) return;
    let handled = true;
    if (event.key === "ArrowDown") active = (active + 1) % options.length;
    else if (event.key === "ArrowUp") active = (active - 1 + options.length) % options.length;
    else if ((event.key === "Enter" && !event.shiftKey) || (event.key === "Tab" && !event.shiftKey)) choose(active);
    else if (event.key === "Escape") {
      dismissed = range?.start ?? null;
      close();
    } else handled = false;
    if (!handled) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    if (!list.hidden) highlight();
  }

  // Moving the caret with the mouse or the arrows (not ↑/↓ while open) changes what is typed.
  function keyup(event) {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    update();
  }

  const listeners = [
    ["input", update, false],
    ["click", update, false],
    ["keyup", keyup, false],
    ["blur", close, false],
    ["keydown", keydown, true],
  ];
  for (const [type, fn, capture] of listeners) textarea.addEventListener(type, fn, capture);

  return function detach() {
    for (const [type, fn, capture] of listeners) textarea.removeEventListener(type, fn, capture);
    list.remove();
    textarea.parentElement?.classList.remove("mention-host");
    for (const name of ["aria-autocomplete", "aria-controls", "aria-activedescendant"]) {
      textarea.removeAttribute(name);
    }
  };
}
