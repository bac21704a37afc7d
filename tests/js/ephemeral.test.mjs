// ephemeral.js against a stand-in `fetch`, window and document: what the page asks the server
// for presence, typing and receipts (on each stream open, for people newly shown, while typing),
// and that a fetched answer lands in the store.
import assert from "node:assert/strict";
import { beforeEach, test } from "node:test";

/** Requests made, each answered when the test says: `{method, path, body, answer(data)}`. */
let requests = [];

globalThis.fetch = (path, init) =>
  new Promise((resolve) => {
    const body = init.body === undefined ? undefined : JSON.parse(init.body);
    requests.push({ method: init.method, path, body, answer: (data) => resolve({ ok: true, status: data === undefined ? 204 : 200, text: async () => (data === undefined ? "" : JSON.stringify(data)) }) });
  });
globalThis.window = new EventTarget();
globalThis.document = Object.assign(new EventTarget(), { visibilityState: "visible" });

const { draftChanged, draftSent, mountEphemeral, setOpenConversation } = await import("../../src/tidings/web/static/js/ephemeral.js");
const { state, update } = await import("../../src/tidings/web/static/js/store.js");
const { setConnection } = await import("../../src/tidings/web/static/js/store/connection.js");
const { presenceOf } = await import("../../src/tidings/web/static/js/store/presence.js");
const { seenBy } = await import("../../src/tidings/web/static/js/store/receipts.js");
const { applySnapshot } = await import("../../src/tidings/web/static/js/store/snapshot.js");
const { alice, bob, carol, conversation, snapshot } = await import("./fixtures.mjs");

const settle = () => new Promise((resolve) => setImmediate(resolve));

/** Date.now() answers `clock.now` for the rest of test `t`; `clock.tick(ms)` moves it. */
function fakeClock(t, now) {
  const real = Date.now;
  const clock = { now, tick: (ms) => (clock.now += ms) };
  Date.now = () => clock.now;
  t.after(() => (Date.now = real));
  return clock;
}
const paths = () => requests.map((r) => `${r.method} ${r.path}`);

mountEphemeral();
update(applySnapshot, snapshot(alice, { friends: [bob], conversations: [conversation(10, [alice, bob]), conversation(20, [alice, bob, carol], { type: "group", name: "G" })] }));

beforeEach(() => {
  requests = [];
});

test("on each stream open: the presence of the people shown; none while the stream is down", async () => {
  update(setConnection, { status: "connected", role: "leader" });
  assert.deepEqual(paths(), [`GET /api/presence?user_id=${bob.id}`]);
  requests[0].answer({ presence: [{ user_id: bob.id, status: "online", last_seen_at: null }] });
  await settle();
  assert.equal(presenceOf(state, bob.id).status, "online");

  requests = [];
  update(setConnection, { status: "reconnecting" });
  setOpenConversation(20); // the stream is down: asked for when it is back
  assert.deepEqual(paths(), []);
  update(setConnection, { status: "connected" });
  assert.deepEqual(paths().sort(), [`GET /api/conversations/20/receipts`, `GET /api/presence?user_id=${bob.id}&user_id=${carol.id}`].sort());
  requests.find((r) => r.path.endsWith("/receipts")).answer({ receipts: [{ user_id: carol.id, last_read_message_id: 3 }] });
  await settle();
  assert.deepEqual(seenBy(state, 20, 3), [carol.id]);
  setOpenConversation(null);
});

test("opening a conversation asks for its receipts, and for the presence of members not asked yet", async () => {
  setOpenConversation(10);
  assert.deepEqual(paths(), ["GET /api/conversations/10/receipts"]); // bob: asked at the stream's open
  setOpenConversation(10);
  assert.equal(requests.length, 1, "the same conversation again: nothing");
  setOpenConversation(null);
});

test("typing: one signal every 3 s at most while the draft has text, a stop when it is emptied", async (t) => {
  const clock = fakeClock(t, 1_000_000);
  draftChanged(10, "h");
  draftChanged(10, "he");
  clock.tick(2999);
  draftChanged(10, "hel");
  assert.deepEqual(requests.map((r) => [r.path, r.body]), [["/api/conversations/10/typing", { active: true }]]);
  clock.tick(1);
  draftChanged(10, "hell");
  draftChanged(10, "  ");
  draftChanged(10, "");
  assert.deepEqual(
    requests.map((r) => r.body),
    [{ active: true }, { active: true }, { active: false }],
  );
  requests = [];
  draftChanged(10, "x");
  draftSent(10);
  draftChanged(10, "");
  draftChanged(10, "y");
  assert.deepEqual(requests.map((r) => r.body), [{ active: true }, { active: true }], "a send ends typing: no stop after it");
});

test("activity: reported at most once a minute, and only from a visible page", (t) => {
  const clock = fakeClock(t, 5_000_000);
  window.dispatchEvent(new Event("keydown"));
  window.dispatchEvent(new Event("pointerdown"));
  assert.deepEqual(paths(), ["POST /api/presence/active"]);
  clock.tick(60000);
  document.visibilityState = "hidden";
  window.dispatchEvent(new Event("keydown"));
  assert.equal(requests.length, 1);
  document.visibilityState = "visible";
  window.dispatchEvent(new Event("focus"));
  assert.deepEqual(paths(), ["POST /api/presence/active", "POST /api/presence/active"]);
});
