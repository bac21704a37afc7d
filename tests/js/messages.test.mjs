// A conversation's thread: history, live messages, and our pending sends matched by client id.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import {
  applyMessage,
  mergeHistory,
  messageKey,
  pendingMessages,
  settlePending,
  sortedMessages,
  startLoading,
  threadOf,
} from "../../src/tidings/web/static/js/store/messages.js";
import { receiveMessage } from "../../src/tidings/web/static/js/store/conversations.js";
import { showOutbox } from "../../src/tidings/web/static/js/store/outbox.js";
import { alice, bob, conversation, message, snapshot } from "./fixtures.mjs";

let state;
let outbox; // our sends on their way, as the outbox keeps them (store/outbox.js)

/** Send `p`: into the outbox, shown as its pending copy (as the composer's send does). */
function addPending(state, p) {
  outbox = [...outbox, { reply_to: null, attachments: [], ...p, status: "sending", error: null }];
  return showOutbox(state, outbox);
}

function pending(clientId, content) {
  return { client_id: clientId, conversation_id: 10, sender_id: alice.id, content, created_at: "2026-03-02T11:00:00Z" };
}

const contents = () => sortedMessages(state, 10).map((m) => m.content);
const pendingIds = () => pendingMessages(state, 10).map((p) => p.client_id);

beforeEach(() => {
  state = createState();
  outbox = [];
  applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));
  mergeHistory(state, 10, { messages: [message(1, bob, "Hi")], has_more: false }, { older: false });
});

describe("sending", () => {
  test("two identical messages are two pending sends, each settled by its own event", () => {
    addPending(state, pending("a", "ok"));
    addPending(state, pending("b", "ok"));
    assert.deepEqual(applyMessage(state, message(2, alice, "ok", { clientId: "b" })), ["messages:10"]);
    assert.deepEqual(pendingIds(), ["a"]);
    applyMessage(state, message(3, alice, "ok", { clientId: "a" }));
    assert.deepEqual(pendingIds(), []);
    assert.deepEqual(contents(), ["Hi", "ok", "ok"]);
  });

  test("the answer first: the message takes the pending copy's place; its event then changes nothing", () => {
    addPending(state, pending("a", "ok"));
    const sent = message(2, alice, "ok", { clientId: "a" });
    assert.deepEqual(settlePending(state, 10, "a", sent), ["messages:10"]);
    assert.deepEqual(pendingIds(), []);
    assert.deepEqual(applyMessage(state, sent), []);
    assert.deepEqual(contents(), ["Hi", "ok"]);
  });

  test("the event first: the answer finds the message in place", () => {
    addPending(state, pending("a", "ok"));
    const sent = message(2, alice, "ok", { clientId: "a" });
    applyMessage(state, sent);
    assert.deepEqual(settlePending(state, 10, "a", sent), []);
    assert.deepEqual(contents(), ["Hi", "ok"]);
  });

  test("someone else's message with the same client id leaves our send pending", () => {
    addPending(state, pending("a", "ok"));
    applyMessage(state, message(2, bob, "ok", { clientId: "a" }));
    assert.deepEqual(pendingIds(), ["a"]);
  });

  test("a pending copy and its message share a key (one element on screen); two sends do not", () => {
    const p = { ...pending("a", "ok"), id: undefined };
    addPending(state, p);
    applyMessage(state, message(2, alice, "ok", { clientId: "a" }));
    assert.equal(messageKey(threadOf(state, 10).messages.get(2)), messageKey(p));
    assert.notEqual(messageKey(pending("a", "ok")), messageKey(pending("b", "ok")));
    assert.notEqual(messageKey({ ...pending("a", "ok"), sender_id: bob.id }), messageKey(pending("a", "ok")));
    assert.equal(messageKey(threadOf(state, 10).messages.get(1)), "m:1");
  });
});

describe("history", () => {
  test("messages keep their sender's id; the sender is in the users map", () => {
    const stored = threadOf(state, 10).messages.get(1);
    assert.equal(stored.sender_id, bob.id);
    assert.equal("sender" in stored, false);
    assert.deepEqual(state.users.get(bob.id), bob);
  });

  test("a message for a conversation not loaded here is not kept (only its sender)", () => {
    const carolish = { id: 9, username: "dora", display_name: "Dora" };
    assert.deepEqual(applyMessage(state, message(5, carolish, "elsewhere", { conversationId: 77 })), ["users"]);
    assert.equal(state.threads.has(77), false);
    assert.equal(state.users.get(9).display_name, "Dora");
  });

  test("an older page says whether there is more; the latest only on first load", () => {
    state = createState();
    applySnapshot(state, snapshot(alice));
    startLoading(state, 10);
    assert.equal(threadOf(state, 10).loading, true);
    mergeHistory(state, 10, { messages: [message(5, bob, "e")], has_more: true }, { older: false });
    assert.equal(threadOf(state, 10).hasMore, true);
    assert.equal(threadOf(state, 10).loading, false);
    mergeHistory(state, 10, { messages: [message(6, bob, "f")], has_more: false }, { older: false });
    assert.equal(threadOf(state, 10).hasMore, true);
    mergeHistory(state, 10, { messages: [message(1, bob, "a")], has_more: false }, { older: true });
    assert.equal(threadOf(state, 10).hasMore, false);
    assert.deepEqual(sortedMessages(state, 10).map((m) => m.id), [1, 5, 6]);
  });

  test("a message seen again is the same; a changed one replaces it (an edit redraws)", () => {
    const original = message(2, bob, "draft");
    applyMessage(state, original);
    assert.deepEqual(applyMessage(state, original), []);
    assert.deepEqual(applyMessage(state, { ...original, content: "final" }), ["messages:10"]);
    assert.deepEqual(contents(), ["Hi", "final"]);
  });
});

describe("history after a resync", () => {
  const ids = () => sortedMessages(state, 10).map((m) => m.id);
  const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const page = (from, to, hasMore) => ({ messages: range(from, to).map((id) => message(id, bob, `m${id}`)), has_more: hasMore });
  const resync = () => applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));

  beforeEach(() => {
    state = createState();
    resync();
    mergeHistory(state, 10, page(1, 40, false), { older: false });
  });

  test("a latest page that does not reach what was loaded replaces it: no hole, and more to load", () => {
    resync();
    assert.equal(threadOf(state, 10).stale, true);
    // A message the stream brings after the snapshot, before the page's answer, stays.
    receiveMessage(state, { message: message(140, bob, "new") });
    mergeHistory(state, 10, page(100, 139, true), { older: false });
    assert.deepEqual(ids(), range(100, 140));
    assert.equal(threadOf(state, 10).hasMore, true);
    assert.equal(threadOf(state, 10).stale, false);
  });

  test("a latest page that reaches back to what was loaded joins it (and the beginning stays known)", () => {
    resync();
    mergeHistory(state, 10, page(30, 69, true), { older: false });
    assert.deepEqual(ids(), range(1, 69));
    assert.equal(threadOf(state, 10).hasMore, false);
    assert.equal(threadOf(state, 10).stale, false);
  });

  test("a latest page that is the whole history joins whatever was loaded", () => {
    resync();
    mergeHistory(state, 10, page(1, 45, false), { older: false });
    assert.deepEqual(ids(), range(1, 45));
    assert.equal(threadOf(state, 10).hasMore, false);
  });

  test("our sent message whose answer came while the stream was away does not count as joined", () => {
    addPending(state, { ...pending("a", "sent"), created_at: "2026-03-02T12:00:00Z" });
    settlePending(state, 10, "a", message(100, alice, "sent", { clientId: "a" }));
    addPending(state, pending("b", "still sending"));
    resync();
    mergeHistory(state, 10, page(61, 100, true), { older: false });
    assert.deepEqual(ids(), range(61, 100));
    assert.equal(threadOf(state, 10).hasMore, true);
    assert.deepEqual(pendingIds(), ["b"]); // pending sends stay
  });

  test("a thread loaded empty takes whether there is more from its next latest page", () => {
    state = createState();
    resync();
    mergeHistory(state, 10, { messages: [], has_more: false }, { older: false });
    resync();
    mergeHistory(state, 10, page(50, 89, true), { older: false });
    assert.equal(threadOf(state, 10).hasMore, true);
  });

  test("an older page merged during the resync leaves the thread stale (the latest page is still due)", () => {
    state = createState();
    resync();
    mergeHistory(state, 10, page(41, 80, true), { older: false });
    resync();
    mergeHistory(state, 10, page(1, 40, false), { older: true });
    assert.equal(threadOf(state, 10).stale, true);
    assert.equal(threadOf(state, 10).hasMore, false);
    mergeHistory(state, 10, page(61, 100, true), { older: false });
    assert.deepEqual(ids(), range(1, 100));
    assert.equal(threadOf(state, 10).stale, false);
  });

  test("a latest page asked for before the last snapshot joins, but the thread stays stale", () => {
    const asOf = state.snapshots;
    resync();
    mergeHistory(state, 10, page(30, 69, true), { older: false, asOf });
    assert.equal(threadOf(state, 10).stale, true);
    mergeHistory(state, 10, page(31, 70, true), { older: false });
    assert.equal(threadOf(state, 10).stale, false);
  });

  test("a second resync before the latest page keeps the first one's mark", () => {
    resync();
    receiveMessage(state, { message: message(140, bob, "after the first resync") });
    resync();
    mergeHistory(state, 10, page(101, 140, true), { older: false });
    assert.deepEqual(ids(), range(101, 140));
  });
});

describe("the empty thread", () => {
  test("a conversation without a thread reads as an empty one that cannot be written to", () => {
    const t = threadOf(state, 99);
    assert.equal(t.messages.size, 0);
    assert.equal(Object.isFrozen(t), true);
    assert.throws(() => t.messages.set(1, {}), TypeError);
    assert.throws(() => t.pending.set("a", {}), TypeError);
    assert.throws(() => t.pending.clear(), TypeError);
    assert.throws(() => {
      t.loading = true;
    }, TypeError);
    assert.equal(threadOf(state, 98).messages.size, 0);
  });

  test("writes make the conversation's own thread; reducers never touch the empty one", () => {
    assert.equal(state.threads.has(99), false);
    startLoading(state, 99);
    assert.equal(state.threads.has(99), true);
    assert.equal(threadOf(state, 98).pending.size, 0);
  });
});
