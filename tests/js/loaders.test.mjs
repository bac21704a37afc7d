// The loaders' requests, against a stand-in `fetch`: which requests go out, in what order, and
// what their answers leave in the store when events and snapshots come in between.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { loadLatest, loadOlder, watchMissing } from "../../src/tidings/web/static/js/loaders.js";
import { state, update } from "../../src/tidings/web/static/js/store.js";
import { receiveMessage } from "../../src/tidings/web/static/js/store/conversations.js";
import { mergeHistory, sortedMessages, threadOf } from "../../src/tidings/web/static/js/store/messages.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

/** Requests made, each answered when the test says: `{path, answer(body)}`. */
let requests;

globalThis.fetch = (path) =>
  new Promise((resolve) => {
    requests.push({ path, answer: (body) => resolve({ ok: true, status: 200, text: async () => JSON.stringify(body) }) });
  });

const settle = () => new Promise((resolve) => setImmediate(resolve));
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const page = (from, to, hasMore) => ({ messages: range(from, to).map((id) => message(id, bob, `m${id}`)), has_more: hasMore });
const resync = () => update(applySnapshot, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));

watchMissing();

beforeEach(() => {
  requests = [];
  state.threads.clear();
  resync();
});

test("a resync while an older page loads: the latest page is still fetched, after it", async () => {
  update(mergeHistory, 10, page(41, 80, true), { older: false });
  const older = loadOlder(10);
  await settle();
  resync();
  const latest = loadLatest(10);
  await settle();
  assert.deepEqual(requests.map((r) => r.path), ["/api/conversations/10/messages?limit=40&before=41"]);
  requests[0].answer(page(1, 40, false));
  await older;
  await settle();
  assert.equal(threadOf(state, 10).stale, true); // an older page does not settle the resync
  assert.equal(requests.length, 2);
  assert.equal(requests[1].path, "/api/conversations/10/messages?limit=40");
  requests[1].answer(page(101, 140, true));
  await latest;
  assert.equal(threadOf(state, 10).stale, false);
  assert.deepEqual(sortedMessages(state, 10).map((m) => m.id), range(101, 140));
  assert.equal(threadOf(state, 10).hasMore, true);
});

test("two asking for the latest page at once make one request", async () => {
  const first = loadLatest(10);
  const second = loadLatest(10);
  await settle();
  assert.equal(requests.length, 1);
  requests[0].answer(page(1, 3, false));
  await Promise.all([first, second]);
  assert.equal(requests.length, 1);
  assert.equal(threadOf(state, 10).loaded, true);
});

test("a latest page asked for before a resync is fetched again after it", async () => {
  update(mergeHistory, 10, page(1, 40, false), { older: false });
  resync();
  const first = loadLatest(10);
  await settle();
  resync(); // a second resync while the first latest page is in flight
  const second = loadLatest(10);
  requests[0].answer(page(1, 42, false));
  await first;
  await settle();
  assert.equal(threadOf(state, 10).stale, true);
  assert.equal(requests.length, 2);
  requests[1].answer(page(1, 43, false));
  await second;
  assert.equal(threadOf(state, 10).stale, false);
  assert.equal(sortedMessages(state, 10).length, 43);
});

test("messages for an unknown conversation while it is fetched are not lost: it is fetched again", async () => {
  const first = message(7, carol, "Hello?", { conversationId: 20 });
  const second = message(8, carol, "Still there?", { conversationId: 20 });
  update(receiveMessage, { message: first });
  await settle();
  assert.deepEqual(requests.map((r) => r.path), ["/api/conversations/20"]);
  update(receiveMessage, { message: second }); // while the request is in flight
  await settle();
  assert.equal(requests.length, 1);
  // The answer is from before the second message.
  requests[0].answer(conversation(20, [alice, carol], { last: first, unread: 1 }));
  await settle();
  assert.equal(requests.length, 2);
  assert.equal(requests[1].path, "/api/conversations/20");
  requests[1].answer(conversation(20, [alice, carol], { last: second, unread: 2 }));
  await settle();
  const known = state.conversations.get(20);
  assert.equal(known.last_message.id, 8);
  assert.equal(known.unread_count, 2);
  assert.equal(state.missingConversations.size, 0);
  assert.equal(requests.length, 2);
});

test("an unknown conversation named once is fetched once", async () => {
  update(receiveMessage, { message: message(9, carol, "Hi", { conversationId: 21 }) });
  await settle();
  requests[0].answer(conversation(21, [alice, carol], { last: message(9, carol, "Hi", { conversationId: 21 }), unread: 1 }));
  await settle();
  assert.equal(requests.length, 1);
  assert.equal(state.conversations.get(21).unread_count, 1);
  // Known now: a message applies at once.
  update(receiveMessage, { message: message(10, carol, "Again", { conversationId: 21 }) });
  await settle();
  assert.equal(requests.length, 1);
  assert.equal(state.conversations.get(21).unread_count, 2);
});
