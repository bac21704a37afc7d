// The requests of message features, against a stand-in `fetch`: pages around and after a message
// (and what they leave in the thread), a reaction shown at once and undone when it fails, the
// emoji in the path.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

import { setReaction } from "../../src/tidings/web/static/js/actions.js";
import { ApiError } from "../../src/tidings/web/static/js/api.js";
import { loadAround, loadLatest, loadNewer } from "../../src/tidings/web/static/js/loaders.js";
import { state, update } from "../../src/tidings/web/static/js/store.js";
import { receiveMessage } from "../../src/tidings/web/static/js/store/conversations.js";
import { hasNewer, mergeHistory, sortedMessages, threadOf } from "../../src/tidings/web/static/js/store/messages.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { alice, bob, conversation, message, snapshot } from "./fixtures.mjs";

/** Requests made, each answered when the test says: `{method, path, answer(body), fail()}`. */
let requests;

globalThis.fetch = (path, init) =>
  new Promise((resolve) => {
    requests.push({
      method: init.method,
      path,
      answer: (body) => resolve({ ok: true, status: 200, text: async () => JSON.stringify(body) }),
      fail: (status, detail) => resolve({ ok: false, status, text: async () => JSON.stringify({ detail }) }),
    });
  });

const settle = () => new Promise((resolve) => setImmediate(resolve));
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const page = (from, to, { hasMore = true, hasNewer = true } = {}) => ({
  messages: range(from, to).map((id) => message(id, bob, `m${id}`)),
  has_more: hasMore,
  has_newer: hasNewer,
});
const ids = () => sortedMessages(state, 10).map((m) => m.id);

beforeEach(() => {
  requests = [];
  state.threads.clear();
  update(applySnapshot, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));
  update(mergeHistory, 10, page(161, 200, { hasNewer: undefined }), { older: false });
});

test("a quote's original: the page around it, then newer pages, then it reaches the loaded run", async () => {
  const around = loadAround(10, 20);
  await settle();
  assert.equal(requests[0].path, "/api/conversations/10/messages?limit=40&around=20");
  requests[0].answer(page(1, 39, { hasMore: false }));
  await around;
  assert.deepEqual(ids(), range(1, 39));
  assert.equal(hasNewer(state, 10), true);
  // A message the stream brings meanwhile waits with the rest.
  update(receiveMessage, { message: message(201, bob, "live") });
  assert.deepEqual(ids(), range(1, 39));

  for (const [from, to, more] of [
    [40, 79, true],
    [80, 119, true],
    [120, 159, true],
    [160, 199, false],
  ]) {
    const newer = loadNewer(10);
    await settle();
    assert.equal(requests.at(-1).path, `/api/conversations/10/messages?limit=40&after=${from - 1}`);
    requests.at(-1).answer(page(from, to, { hasNewer: more }));
    await newer;
  }
  assert.equal(hasNewer(state, 10), false);
  assert.deepEqual(ids(), range(1, 201));
  assert.equal(threadOf(state, 10).hasMore, false);
  // Nothing newer to load.
  await loadNewer(10);
  assert.equal(requests.length, 5);
});

test("jumping to the latest from a run that stops short loads the latest page again", async () => {
  const around = loadAround(10, 20);
  await settle();
  requests[0].answer(page(1, 39, { hasMore: false }));
  await around;
  const latest = loadLatest(10);
  await settle();
  assert.equal(requests[1].path, "/api/conversations/10/messages?limit=40");
  requests[1].answer(page(161, 200, { hasNewer: undefined }));
  await latest;
  assert.equal(hasNewer(state, 10), false);
  assert.deepEqual(ids(), range(161, 200));
  assert.equal(threadOf(state, 10).hasMore, true);
});

test("a reaction shows at once, the path carries the emoji encoded, a failure undoes it", async () => {
  const reacting = setReaction(10, 200, "👍", true);
  const reactions = () => threadOf(state, 10).messages.get(200).reactions;
  assert.deepEqual(reactions(), [{ emoji: "👍", count: 1, user_ids: [alice.id] }]);
  await settle();
  assert.equal(requests[0].method, "PUT");
  assert.equal(requests[0].path, "/api/conversations/10/messages/200/reactions/%F0%9F%91%8D");
  requests[0].fail(503, "Busy");
  await assert.rejects(reacting, (error) => error instanceof ApiError && error.status === 503);
  assert.deepEqual(reactions(), []);

  const taking = setReaction(10, 200, "❤️", true);
  await settle();
  requests[1].answer({ conversation_id: 10, message_id: 200, reactions: [{ emoji: "❤️", count: 1, user_ids: [alice.id] }] });
  await taking;
  const back = setReaction(10, 200, "❤️", false);
  assert.deepEqual(reactions(), []);
  await settle();
  assert.equal(requests[2].method, "DELETE");
  requests[2].answer({ conversation_id: 10, message_id: 200, reactions: [] });
  await back;
  assert.deepEqual(reactions(), []);
});
