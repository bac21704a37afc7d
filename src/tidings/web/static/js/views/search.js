// Message search: a dialog opened by the sidebar's 🔍 button, Ctrl+K (⌘K), or "/" when the focus
// is not in a text field. It searches as you type (after a pause), optionally in the open
// conversation only; each result names its conversation, sender and time, and shows a snippet
// with the matches marked (<mark>s and text nodes, from the server's segments). ↑/↓ move between
// the input and the results; Enter or a click opens a result: the conversation, at the message,
// highlighted, with the history around it (views/conversation.js `showMessage`, as a quote does).
//
// `Search` below is the searching itself, with no DOM: the query, the pages of results, and the
// rule that only the answer to the latest query counts (a newer query aborts the older request,
// and an answer that arrives anyway is dropped). It and the other pure parts are exported for
// tests (tests/js/search.test.mjs); the dialog is tested in Chromium (tests/e2e/test_search.py).
// Nothing here touches the page until `mountSearch`.
import { fullTime, h, renderKeyed, shortTime, testid } from "../dom.js";
import { reportError, showIn } from "../errors.js";
import { searchMessages } from "../loaders.js";
import { currentRoute } from "../router.js";
import { state, watch } from "../store.js";
import { conversationTitle } from "../store/conversations.js";
import { userById } from "../store/users.js";
import { giveFocusBack, trapFocus } from "./focus.js";

export const DEBOUNCE_MS = 250;
const NOT_TEXT_INPUTS = new Set(["button", "checkbox", "color", "file", "image", "radio", "range", "reset", "submit"]);

/**
 * The state of a search: `query` (trimmed) and `conversationId` (null: every conversation),
 * `results` (the server's, newest first, pages joined), `hasMore`, `loading` (the first page),
 * `loadingMore`, `error` (the reason the last request failed, or null) and `done` (the results
 * answer the query). `onChange()` is called after each change.
 */
export class Search {
  query = "";
  conversationId = null;
  results = [];
  hasMore = false;
  loading = false;
  loadingMore = false;
  error = null;
  done = false;
  #timer = null;
  #controller = null;
  #serial = 0; // moves on with each query: an answer to an older one is dropped

  /**
   * @param {(q: string, options: {before: number | null, conversationId: number | null, signal: AbortSignal}) => Promise<{results: object[], has_more: boolean}>} fetchPage
   * @param {{delay?: number, onChange?: () => void, describeError?: (error: unknown) => string}} [options]
   */
  constructor(fetchPage, { delay = DEBOUNCE_MS, onChange = () => {}, describeError = (error) => String(error?.message ?? error) } = {}) {
    this.fetchPage = fetchPage;
    this.delay = delay;
    this.onChange = onChange;
    this.describeError = describeError;
  }

  /** Search for `text` (trimmed) in `conversationId` (null: everywhere) once typing pauses; an
   * empty query clears the results. The same query and scope again change nothing, unless
   * `again` (the results may be out of date). */
  set(text, conversationId = null, { again = false } = {}) {
    const query = text.trim();
    if (!again && query === this.query && conversationId === this.conversationId) return;
    this.#cancel();
    this.query = query;
    this.conversationId = conversationId;
    this.error = null;
    this.loadingMore = false;
    this.done = false;
    if (!query) {
      this.results = [];
      this.hasMore = false;
      this.loading = false;
    } else {
      // The results of the previous query stay until the answer to this one replaces them.
      this.loading = true;
      this.#timer = setTimeout(() => this.#fetch(false), this.delay);
    }
    this.onChange();
  }

  /** Fetch the next page (older results), if there is one and nothing is loading. */
  more() {
    if (!this.done || !this.hasMore || this.loading || this.loadingMore || !this.results.length) return;
    this.loadingMore = true;
    this.error = null;
    this.onChange();
    this.#fetch(true);
  }

  /** Drop the pending request or timer (the answer will not come). */
  #cancel() {
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#controller?.abort();
    this.#controller = null;
    this.#serial += 1;
  }

  async #fetch(more) {
    this.#timer = null;
    const serial = this.#serial;
    const controller = new AbortController();
    this.#controller = controller;
    const before = more ? this.results[this.results.length - 1].message.id : null;
    let page;
    try {
      page = await this.fetchPage(this.query, { before, conversationId: this.conversationId, signal: controller.signal });
    } catch (error) {
      if (serial !== this.#serial || controller.signal.aborted) return;
      this.error = this.describeError(error);
      this.loading = false;
      this.loadingMore = false;
      this.onChange();
      return;
    } finally {
      if (this.#controller === controller) this.#controller = null;
    }
    if (serial !== this.#serial) return; // a newer query was asked meanwhile
    if (more) {
      const known = new Set(this.results.map((r) => r.message.id));
      this.results = [...this.results, ...page.results.filter((r) => !known.has(r.message.id))];
    } else {
      this.results = page.results;
    }
    this.hasMore = page.has_more && page.results.length > 0;
    this.loading = false;
    this.loadingMore = false;
    this.done = true;
    this.onChange();
  }
}

/** A result's conversation as the sidebar names it (a direct conversation: the other person). */
export function resultTitle(state, conversation) {
  const known = state.conversations.get(conversation.id);
  if (known) return conversationTitle(state, known);
  return conversation.type === "group" ? conversation.name || "Group" : "Direct message";
}

/** What each result shows: `{key, conversationId, messageId, title, sender, createdAt, snippet}`. */
export function resultItems(state, results) {
  return results.map(({ message, conversation, snippet }) => ({
    key: message.id,
    conversationId: conversation.id,
    messageId: message.id,
    title: resultTitle(state, conversation),
    sender: message.sender.id === state.meId ? "You" : (state.users.get(message.sender.id) ?? message.sender).display_name,
    createdAt: message.created_at,
    snippet,
  }));
}

/** The line under the input: what the search is doing, or found. */
export function searchStatus(search) {
  if (!search.query) return "Find messages in your conversations.";
  if (search.loading) return "Searching…";
  if (!search.done) return "";
  const n = search.results.length;
  if (n === 0) return "No messages found";
  const found = `${n}${search.hasMore ? "+" : ""} ${n === 1 && !search.hasMore ? "message" : "messages"} found`;
  return search.hasMore ? `${found} (more below)` : found;
}

/** Whether typing in `el` would type "/" (so "/" there is not the shortcut). */
export function isTextField(el) {
  if (!el?.tagName) return false;
  if (el.isContentEditable) return true;
  const tag = el.tagName.toUpperCase();
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  return tag === "INPUT" && !NOT_TEXT_INPUTS.has(String(el.type || "text").toLowerCase());
}

/** Whether `event` is the search shortcut: Ctrl+K / ⌘K anywhere, "/" outside a text field. */
export function isSearchShortcut(event) {
  if (event.isComposing || event.altKey) return false;
  if ((event.ctrlKey || event.metaKey) && !event.shiftKey) return event.key?.toLowerCase() === "k" || event.code === "KeyK";
  return event.key === "/" && !event.ctrlKey && !event.metaKey && !isTextField(event.target);
}

// The dialog ----------------------------------------------------------------------------------

let dialog, input, scopeLabel, scopeBox, scopeName, statusEl, errorEl, list, moreButton;
let search = null;
let showMessage = async () => {};
let opener = null; // what had the focus before the dialog opened: it gets it back on close
let leaving = false; // closing to open a result: the conversation takes the focus
const drawnSnippets = new WeakMap(); // result element -> the segments it shows

/** Wire the dialog (app.html) and the shortcut; `show(conversationId, messageId)` shows a
 * message in the open conversation (views/conversation.js `showMessage`). */
export function mountSearch({ showMessage: show }) {
  showMessage = show;
  dialog = testid("search-dialog");
  trapFocus(dialog);
  input = testid("search-input");
  scopeLabel = testid("search-scope-label");
  scopeBox = testid("search-scope");
  scopeName = testid("search-scope-name");
  statusEl = testid("search-status");
  errorEl = testid("search-error");
  list = testid("message-search-results");
  moreButton = testid("search-more");
  search = new Search(searchMessages, {
    onChange: render,
    // The reason shows in the dialog (a 401 still goes to sign in).
    describeError: (error) => reportError("Couldn't search messages", error, () => {}),
  });

  testid("search-button").addEventListener("click", openSearch);
  testid("search-close").addEventListener("click", () => dialog.close());
  document.addEventListener("keydown", (event) => {
    if (!isSearchShortcut(event) || state.meId === null) return;
    // Another dialog (a new chat) has the page: not over it.
    if (!dialog.open && document.querySelector("dialog[open]")) return;
    event.preventDefault();
    openSearch();
  });
  input.addEventListener("input", () => runQuery());
  scopeBox.addEventListener("change", () => runQuery());
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && list.firstElementChild) {
      event.preventDefault();
      resultButtons()[0]?.focus();
    }
  });
  list.addEventListener("keydown", onListKeys);
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-message-id]");
    if (button) openResult(Number(button.dataset.conversationId), Number(button.dataset.messageId));
  });
  moreButton.addEventListener("click", () => search.more());
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close(); // a click on the backdrop
  });
  dialog.addEventListener("keydown", (event) => {
    // Escape closes, also from a search box with text in it (which it would otherwise clear).
    if (event.key !== "Escape" || event.isComposing) return;
    event.preventDefault();
    dialog.close();
  });
  dialog.addEventListener("close", () => {
    if (!leaving) giveFocusBack(dialog, opener);
    opener = null;
  });
  for (const topic of ["conversations", "users"]) {
    watch(topic, () => {
      if (dialog.open) render();
    });
  }
}

/** Open the dialog (or, open, go back to its input). The last query is kept, and asked again:
 * its answer may have changed since (new messages, a group left). */
function openSearch() {
  if (dialog.open) {
    input.focus();
    input.select();
    return;
  }
  opener = document.activeElement;
  leaving = false;
  drawScope();
  render();
  dialog.showModal();
  input.focus();
  input.select();
  runQuery({ again: true });
}

/** "Only in <conversation>", offered while a conversation is open. */
function drawScope() {
  const route = currentRoute();
  const conversation = route.view === "conversation" ? state.conversations.get(route.id) : null;
  scopeLabel.hidden = !conversation;
  if (!conversation) {
    scopeBox.checked = false;
    return;
  }
  // Ticked for another conversation: not for this one.
  if (scopeBox.dataset.conversationId !== String(conversation.id)) scopeBox.checked = false;
  scopeBox.dataset.conversationId = String(conversation.id);
  scopeName.textContent = conversationTitle(state, conversation);
}

function runQuery({ again = false } = {}) {
  const scoped = scopeBox.checked && !scopeLabel.hidden;
  search.set(input.value, scoped ? Number(scopeBox.dataset.conversationId) : null, { again });
}

function resultButtons() {
  return [...list.querySelectorAll("[data-testid=search-result]")];
}

/** ↑/↓ between results (↑ from the first: back to the input), Home/End to the ends. */
function onListKeys(event) {
  const buttons = resultButtons();
  const at = buttons.indexOf(document.activeElement);
  if (at < 0) return;
  let next;
  if (event.key === "ArrowDown") next = Math.min(at + 1, buttons.length - 1);
  else if (event.key === "ArrowUp") next = at - 1;
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = buttons.length - 1;
  else return;
  event.preventDefault();
  if (next < 0) input.focus();
  else buttons[next].focus();
}

/** Go to the result's conversation, at the message (views/conversation.js `showMessage`). */
async function openResult(conversationId, messageId) {
  leaving = true;
  dialog.close();
  await showMessage(conversationId, messageId);
}

function render() {
  if (!search) return;
  const items = resultItems(state, search.results);
  renderKeyed(list, items, (item) => item.key, createResult, updateResult);
  list.hidden = items.length === 0;
  list.setAttribute("aria-busy", String(search.loading));
  statusEl.textContent = searchStatus(search);
  showIn(errorEl, search.error ? `Couldn't search messages: ${search.error}` : null);
  moreButton.hidden = !search.done || !search.hasMore;
  moreButton.disabled = search.loadingMore;
  moreButton.textContent = search.loadingMore ? "Loading…" : "Load more";
}

function createResult() {
  return h(
    "li",
    null,
    h(
      "button",
      { class: "search-result", type: "button", testid: "search-result" },
      h(
        "span",
        { class: "search-result-top" },
        h("strong", { class: "search-result-title", testid: "search-result-conversation" }),
        h("time", { class: "search-result-time", testid: "search-result-time" }),
      ),
      h("span", { class: "search-result-sender", testid: "search-result-sender" }),
      h("span", { class: "search-result-snippet", testid: "search-result-snippet" }),
    ),
  );
}

function updateResult(li, item) {
  const button = li.firstChild;
  button.dataset.conversationId = String(item.conversationId);
  button.dataset.messageId = String(item.messageId);
  button.querySelector(".search-result-title").textContent = item.title;
  button.querySelector(".search-result-sender").textContent = item.sender;
  const time = button.querySelector("time");
  time.textContent = shortTime(item.createdAt);
  time.dateTime = item.createdAt;
  time.title = fullTime(item.createdAt);
  // The same message found by another query marks other words: redraw when the segments change.
  if (drawnSnippets.get(li) !== item.snippet) {
    drawnSnippets.set(li, item.snippet);
    const snippet = button.querySelector(".search-result-snippet");
    snippet.replaceChildren(...item.snippet.map((s) => (s.match ? h("mark", { text: s.text }) : document.createTextNode(s.text))));
  }
}
