// Finding people as you type (GET /api/users: username and display name, by prefix, infix and
// similarity, friends first), shared by the Friends view's "Find people" and the new-chat dialog.
// The searching is message search's `Search` (views/search.js): a pause in typing before asking,
// a newer query aborting the older request, and an answer to an older query dropped.
import { searchUsers } from "../actions.js";
import { Search } from "./search.js";

export const PEOPLE_DEBOUNCE_MS = 150;

/** A `Search` over people: its `results` are user ids, best first (the users are in the store). */
export function peopleSearch({ onChange, describeError, limit = 10 } = {}) {
  const fetchPage = async (q, { signal }) => ({ results: await searchUsers(q, { limit, signal }), has_more: false });
  return new Search(fetchPage, { delay: PEOPLE_DEBOUNCE_MS, onChange, describeError });
}

/**
 * ↑/↓ between a search input and the rows of its results list: ↓ from the input focuses the
 * first row, ↑ from the first row goes back to the input, Home/End to the ends. `focusTarget(row)`
 * is the element of a row that takes the focus (its main button); Enter then acts on it.
 */
export function navigable(input, list, focusTarget) {
  const rows = () => [...list.children].filter((row) => focusTarget(row));
  input.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowDown" || event.isComposing) return;
    const first = rows()[0];
    if (!first) return;
    event.preventDefault();
    focusTarget(first).focus();
  });
  list.addEventListener("keydown", (event) => {
    const all = rows();
    const at = all.findIndex((row) => row.contains(document.activeElement));
    if (at < 0) return;
    let next;
    if (event.key === "ArrowDown") next = Math.min(at + 1, all.length - 1);
    else if (event.key === "ArrowUp") next = at - 1;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = all.length - 1;
    else return;
    event.preventDefault();
    if (next < 0) input.focus();
    else focusTarget(all[next]).focus();
  });
}
