// Message search without the page (views/search.js, loaders.js `searchMessages`): the pause
// before searching, only the latest query's answer counts, pages joined, what a result shows,
// the status line and the shortcut. The dialog itself is tested in Chromium
// (tests/e2e/test_search.py).
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";

import { ApiError } from "../../src/tidings/web/static/js/api.js";
import { searchMessages } from "../../src/tidings/web/static/js/loaders.js";
import { state, update } from "../../src/tidings/web/static/js/store.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import {
  DEBOUNCE_MS,
  isSearchShortcut,
  isTextField,
  resultItems,
  resultTitle,
  Search,
  searchStatus,
} from "../../src/tidings/web/static/js/views/search.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A search result as the server sends it. */
function result(id, sender, { conversationId = 10, type = "direct", name = null, snippet = [{ text: `m${id}`, match: true }] } = {}) {
  return { message: message(id, sender, `m${id}`, { conversationId }), conversation: { id: conversationId, type, name }, snippet };
}

/** A stand-in for `searchMessages`: each call waits for the test to answer (or fail) it. */
function fakeServer() {
  const calls = [];
  const fetchPage = (q, options) =>
    new Promise((resolve, reject) => {
      calls.push({ q, ...options, answer: resolve, fail: reject });
    });
  return { calls, fetchPage };
}

describe("Search", () => {
  beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
  afterEach(() => mock.timers.reset());

  test("searches once typing pauses, for what was typed last (trimmed)", () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage);
    search.set("he");
    mock.timers.tick(DEBOUNCE_MS - 1);
    search.set("hel");
    mock.timers.tick(DEBOUNCE_MS - 1);
    search.set("  hello ");
    assert.equal(search.loading, true);
    assert.equal(server.calls.length, 0);
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(server.calls.length, 1);
    assert.equal(server.calls[0].q, "hello");
    assert.equal(server.calls[0].before, null);
    assert.equal(server.calls[0].conversationId, null);
  });

  test("an older answer never replaces a newer one: its request is aborted, its answer dropped", async () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage);
    search.set("alpha");
    mock.timers.tick(DEBOUNCE_MS);
    search.set("beta");
    assert.equal(server.calls[0].signal.aborted, true);
    mock.timers.tick(DEBOUNCE_MS);
    server.calls[1].answer({ results: [result(2, bob)], has_more: false });
    await settle();
    // The older request answers anyway (the abort came too late): nothing changes.
    server.calls[0].answer({ results: [result(1, bob)], has_more: true });
    await settle();
    assert.deepEqual(search.results.map((r) => r.message.id), [2]);
    assert.equal(search.hasMore, false);
    assert.equal(search.done, true);
    assert.equal(search.loading, false);
  });

  test("a request aborted by a newer query is not an error", async () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage);
    search.set("alpha");
    mock.timers.tick(DEBOUNCE_MS);
    search.set("beta");
    server.calls[0].fail(new DOMException("The operation was aborted.", "AbortError"));
    await settle();
    assert.equal(search.error, null);
    assert.equal(search.loading, true);
  });

  test("the same query and scope again make no request; another scope does", async () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage);
    search.set("word");
    mock.timers.tick(DEBOUNCE_MS);
    server.calls[0].answer({ results: [], has_more: false });
    await settle();
    search.set("word ");
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(server.calls.length, 1);
    search.set("word", 10);
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(server.calls.length, 2);
    assert.equal(server.calls[1].conversationId, 10);
    search.set("word", 10, { again: true }); // reopened: asked again
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(server.calls.length, 3);
  });

  test("an empty query clears the results and cancels what was pending", async () => {
    const server = fakeServer();
    const changes = [];
    const search = new Search(server.fetchPage, { onChange: () => changes.push(search.loading) });
    search.set("word");
    mock.timers.tick(DEBOUNCE_MS);
    server.calls[0].answer({ results: [result(1, bob)], has_more: false });
    await settle();
    search.set("other");
    search.set("   ");
    mock.timers.tick(DEBOUNCE_MS);
    assert.equal(server.calls.length, 1);
    assert.deepEqual(search.results, []);
    assert.equal(search.loading, false);
    assert.equal(search.done, false);
    assert.deepEqual(changes, [true, false, true, false]);
  });

  test("more results: the next page before the last result's message, joined once", async () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage);
    search.set("word", 10);
    mock.timers.tick(DEBOUNCE_MS);
    server.calls[0].answer({ results: [result(9, bob), result(7, alice)], has_more: true });
    await settle();
    search.more();
    search.more(); // one page at a time
    assert.equal(server.calls.length, 2);
    assert.equal(search.loadingMore, true);
    assert.equal(server.calls[1].before, 7);
    assert.equal(server.calls[1].conversationId, 10);
    assert.equal(server.calls[1].q, "word");
    server.calls[1].answer({ results: [result(7, alice), result(4, bob)], has_more: false });
    await settle();
    assert.deepEqual(search.results.map((r) => r.message.id), [9, 7, 4]);
    assert.equal(search.hasMore, false);
    assert.equal(search.loadingMore, false);
    search.more();
    assert.equal(server.calls.length, 2);
  });

  test("a failure shows its reason, keeps the results, and the next query clears it", async () => {
    const server = fakeServer();
    const search = new Search(server.fetchPage, { describeError: (error) => `because ${error.message}` });
    search.set("word");
    mock.timers.tick(DEBOUNCE_MS);
    server.calls[0].answer({ results: [result(9, bob)], has_more: true });
    await settle();
    search.more();
    server.calls[1].fail(new ApiError(503, { detail: "Busy" }));
    await settle();
    assert.equal(search.error, "because Busy");
    assert.equal(search.loadingMore, false);
    assert.deepEqual(search.results.map((r) => r.message.id), [9]);
    assert.equal(search.hasMore, true); // "Load more" tries again
    search.set("words");
    assert.equal(search.error, null);
  });
});

describe("what a result shows", () => {
  beforeEach(() => {
    const dm = conversation(10, [alice, bob]);
    const group = conversation(11, [alice, bob, carol], { type: "group", name: "Book club" });
    update(applySnapshot, snapshot(alice, { conversations: [dm, group] }));
  });

  test("a direct conversation is titled as in the sidebar; a group by its name", () => {
    assert.equal(resultTitle(state, { id: 10, type: "direct", name: null }), "Bob Marley");
    assert.equal(resultTitle(state, { id: 11, type: "group", name: "Book club" }), "Book club");
    // Not in the sidebar (yet): what the result itself says.
    assert.equal(resultTitle(state, { id: 99, type: "group", name: "Elsewhere" }), "Elsewhere");
    assert.equal(resultTitle(state, { id: 98, type: "direct", name: null }), "Direct message");
  });

  test("items: conversation, sender (You for ours), time, and the snippet's segments as sent", () => {
    const snippet = [
      { text: "see the ", match: false },
      { text: "zebra", match: true },
      { text: " at noon", match: false },
    ];
    const found = [result(12, bob, { snippet }), result(8, alice, { conversationId: 11, type: "group", name: "Book club" })];
    const items = resultItems(state, found);
    assert.deepEqual(
      items.map(({ key, conversationId, messageId, title, sender }) => ({ key, conversationId, messageId, title, sender })),
      [
        { key: 12, conversationId: 10, messageId: 12, title: "Bob Marley", sender: "Bob Marley" },
        { key: 8, conversationId: 11, messageId: 8, title: "Book club", sender: "You" },
      ],
    );
    assert.equal(items[0].createdAt, found[0].message.created_at);
    assert.equal(items[0].snippet, snippet);
  });
});

describe("searchStatus", () => {
  const base = { query: "word", loading: false, done: true, results: [], hasMore: false };

  test("says what the search is doing or found", () => {
    assert.equal(searchStatus({ ...base, query: "" }), "Find messages in your conversations.");
    assert.equal(searchStatus({ ...base, loading: true, done: false }), "Searching…");
    assert.equal(searchStatus(base), "No messages found");
    assert.equal(searchStatus({ ...base, results: [1] }), "1 message found");
    assert.equal(searchStatus({ ...base, results: [1, 2] }), "2 messages found");
    assert.equal(searchStatus({ ...base, results: [1], hasMore: true }), "1+ messages found (more below)");
    assert.equal(searchStatus({ ...base, done: false }), ""); // failed: the error line says why
  });
});

describe("the shortcut", () => {
  const field = (tagName, more = {}) => ({ tagName, ...more });

  test("Ctrl+K or ⌘K anywhere, on any layout", () => {
    assert.equal(isSearchShortcut({ key: "k", ctrlKey: true, target: field("TEXTAREA") }), true);
    assert.equal(isSearchShortcut({ key: "K", metaKey: true, target: field("BODY") }), true);
    assert.equal(isSearchShortcut({ key: "л", code: "KeyK", ctrlKey: true, target: field("BODY") }), true);
    assert.equal(isSearchShortcut({ key: "K", ctrlKey: true, shiftKey: true, target: field("BODY") }), false);
    assert.equal(isSearchShortcut({ key: "k", target: field("BODY") }), false);
  });

  test('"/" only outside a text field', () => {
    assert.equal(isSearchShortcut({ key: "/", target: field("BODY") }), true);
    assert.equal(isSearchShortcut({ key: "/", target: field("BUTTON") }), true);
    assert.equal(isSearchShortcut({ key: "/", target: field("INPUT", { type: "checkbox" }) }), true);
    assert.equal(isSearchShortcut({ key: "/", target: field("TEXTAREA") }), false);
    assert.equal(isSearchShortcut({ key: "/", target: field("INPUT", { type: "search" }) }), false);
    assert.equal(isSearchShortcut({ key: "/", target: field("DIV", { isContentEditable: true }) }), false);
    assert.equal(isSearchShortcut({ key: "/", isComposing: true, target: field("BODY") }), false);
  });

  test("isTextField", () => {
    assert.equal(isTextField(null), false);
    assert.equal(isTextField(field("INPUT")), true); // no type: text
    assert.equal(isTextField(field("SELECT")), true);
    assert.equal(isTextField(field("INPUT", { type: "radio" })), false);
  });
});

describe("searchMessages", () => {
  let requests;
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    requests = [];
    globalThis.fetch = (path, init) =>
      new Promise((resolve, reject) => {
        requests.push({ path, init, answer: (body) => resolve({ ok: true, status: 200, text: async () => JSON.stringify(body) }) });
        init.signal?.addEventListener("abort", () => reject(init.signal.reason));
      });
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  test("asks for a page with the query, the cursor and the conversation", async () => {
    const answer = searchMessages("a b&c", { before: 41, conversationId: 10 });
    assert.equal(requests[0].path, "/api/search/messages?q=a+b%26c&limit=20&before=41&conversation_id=10");
    requests[0].answer({ results: [], has_more: false });
    assert.deepEqual(await answer, { results: [], has_more: false });
    searchMessages("x");
    assert.equal(requests[1].path, "/api/search/messages?q=x&limit=20");
  });

  test("an aborted request rejects with the abort, not as a server that cannot be reached", async () => {
    const controller = new AbortController();
    const answer = searchMessages("x", { signal: controller.signal });
    controller.abort();
    await assert.rejects(answer, (error) => error.name === "AbortError" && !(error instanceof ApiError));
  });
});
