// Presence, typing and read receipts (issue 14): the ephemeral state's reducers, the words
// shown, the sending side's typing throttle, and that ephemeral frames never touch the stream's
// ordering (they are never replayed, and carry no id).
import assert from "node:assert/strict";
import { test } from "node:test";

import { batches, shownUserIds } from "../../src/tidings/web/static/js/ephemeral.js";
import { EPHEMERAL_REDUCERS, EVENT_REDUCERS } from "../../src/tidings/web/static/js/events.js";
import { EPHEMERAL_EVENT_TYPES, RealtimeClient } from "../../src/tidings/web/static/js/realtime.js";
import { setConnection } from "../../src/tidings/web/static/js/store/connection.js";
import { applyPresence, countOnline, lastSeenText, presenceOf, presenceText, receivePresence } from "../../src/tidings/web/static/js/store/presence.js";
import { applyReceipts, mayBeMoreReaders, receiveReadReceipt, seenBy, senderHasRead } from "../../src/tidings/web/static/js/store/receipts.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import {
  expireTyping,
  nextTypingExpiry,
  receiveTyping,
  stopTypingOnMessage,
  TypingThrottle,
  typingText,
  typistsIn,
} from "../../src/tidings/web/static/js/store/typing.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

const NOW = Date.parse("2026-03-02T10:00:00Z");

function signedIn() {
  const state = createState();
  applySnapshot(state, snapshot(alice, { friends: [bob], conversations: [conversation(10, [alice, bob]), conversation(20, [alice, bob, carol], { type: "group", name: "G" })] }));
  return state;
}

// Presence ------------------------------------------------------------------------------------

test("presence: unknown people are offline; events and fetches set it, topics only on a change", () => {
  const state = signedIn();
  assert.deepEqual(presenceOf(state, bob.id), { status: "offline", last_seen_at: null });
  assert.deepEqual(receivePresence(state, { user_id: bob.id, status: "online", last_seen_at: null }), [`presence:${bob.id}`]);
  assert.equal(presenceOf(state, bob.id).status, "online");
  assert.deepEqual(receivePresence(state, { user_id: bob.id, status: "online", last_seen_at: null }), []);
  assert.deepEqual(applyPresence(state, [{ user_id: carol.id, status: "away", last_seen_at: null }], state.presenceSerial), [`presence:${carol.id}`]);
  assert.equal(countOnline(state, [bob.id, carol.id, 99]), 2);
});

test("presence: a fetch answered after a newer event leaves that person as the event said", () => {
  const state = signedIn();
  const asOf = state.presenceSerial; // the request goes
  receivePresence(state, { user_id: bob.id, status: "offline", last_seen_at: "2026-03-02T09:59:00Z" }); // bob left meanwhile
  const topics = applyPresence(
    state,
    [
      { user_id: bob.id, status: "online", last_seen_at: null }, // stale
      { user_id: carol.id, status: "online", last_seen_at: null },
    ],
    asOf,
  );
  assert.deepEqual(topics, [`presence:${carol.id}`]);
  assert.equal(presenceOf(state, bob.id).status, "offline");
  // The next stream open's fetch (asked after the event) applies.
  assert.deepEqual(applyPresence(state, [{ user_id: bob.id, status: "online", last_seen_at: null }], state.presenceSerial), [`presence:${bob.id}`]);
  assert.equal(presenceOf(state, bob.id).status, "online");
});

test("presence: unknown from the page going offline until the stream connects again", () => {
  const state = signedIn();
  receivePresence(state, { user_id: bob.id, status: "online", last_seen_at: null });
  receivePresence(state, { user_id: carol.id, status: "offline", last_seen_at: "2026-03-02T09:55:00Z" });
  assert.deepEqual(setConnection(state, { status: "connected" }), ["connection"]);
  assert.deepEqual(setConnection(state, { status: "offline" }), ["connection", "presence"]);
  for (const id of [bob.id, carol.id, 99]) assert.deepEqual(presenceOf(state, id), { status: "unknown", last_seen_at: null });
  assert.equal(countOnline(state, [bob.id, carol.id]), 0);
  assert.equal(presenceText(presenceOf(state, bob.id), NOW), "status unknown while you're offline");
  // Reconnecting is not yet knowing; a deleted account is gone whatever the connection.
  assert.deepEqual(setConnection(state, { status: "reconnecting" }), ["connection"]);
  assert.equal(presenceOf(state, bob.id).status, "unknown");
  state.users.set(carol.id, { ...state.users.get(carol.id), deleted: true });
  assert.equal(presenceOf(state, carol.id).status, "offline");
  assert.deepEqual(setConnection(state, { status: "connected" }), ["connection", "presence"]);
  assert.equal(presenceOf(state, bob.id).status, "online");
  assert.equal(countOnline(state, [bob.id]), 1);
});

test("presence in words", () => {
  assert.equal(presenceText({ status: "online", last_seen_at: null }, NOW), "online");
  assert.equal(presenceText({ status: "away", last_seen_at: "2026-03-02T09:00:00Z" }, NOW), "away");
  assert.equal(presenceText({ status: "offline", last_seen_at: null }, NOW), "offline");
  assert.equal(lastSeenText("2026-03-02T09:59:30Z", NOW), "last seen just now");
  assert.equal(lastSeenText("2026-03-02T09:55:00Z", NOW), "last seen 5 min ago");
  assert.equal(lastSeenText("2026-03-02T07:00:00Z", NOW), "last seen 3 h ago");
  assert.equal(lastSeenText("2026-03-01T08:00:00Z", NOW), "last seen yesterday");
  assert.equal(lastSeenText("2026-02-20T10:00:00Z", NOW), "last seen 10 days ago");
});

test("who is shown: friends, DM partners and the open conversation's members, never us; 200 a request", () => {
  const state = signedIn();
  assert.deepEqual(shownUserIds(state, null).sort(), [bob.id]);
  assert.deepEqual(shownUserIds(state, 20).sort(), [bob.id, carol.id]);
  assert.deepEqual(shownUserIds(state, null, [42]).sort((a, b) => a - b), [bob.id, 42]);
  const ids = Array.from({ length: 450 }, (_, i) => i + 1);
  assert.deepEqual(batches(ids).map((b) => b.length), [200, 200, 50]);
  assert.deepEqual(batches(ids).flat(), ids);
});

// Typing --------------------------------------------------------------------------------------

const typingOf = (user, active = true, id = 20) => ({ conversation_id: id, user, active, expires_in_ms: 6000 });

test("typing: an entry per person until it runs out, they stop, or their message arrives", () => {
  const state = signedIn();
  assert.deepEqual(receiveTyping(state, typingOf(bob), NOW), ["typing:20"]);
  assert.deepEqual(receiveTyping(state, typingOf(carol), NOW + 1000), ["typing:20"]);
  assert.deepEqual(typistsIn(state, 20), [bob.id, carol.id]);
  // A repeat only moves the expiry (nothing to redraw).
  assert.deepEqual(receiveTyping(state, typingOf(bob), NOW + 3000), []);
  assert.equal(nextTypingExpiry(state), NOW + 7000);
  assert.deepEqual(expireTyping(state, NOW + 6999), []);
  assert.deepEqual(expireTyping(state, NOW + 7000), ["typing:20"]);
  assert.deepEqual(typistsIn(state, 20), [bob.id]);
  assert.deepEqual(stopTypingOnMessage(state, { message: message(5, bob, "hi", { conversationId: 20 }) }), ["typing:20"]);
  assert.deepEqual(typistsIn(state, 20), []);
  assert.equal(nextTypingExpiry(state), null);
  receiveTyping(state, typingOf(carol), NOW);
  assert.deepEqual(receiveTyping(state, typingOf(carol, false), NOW + 10), ["typing:20"]);
  assert.equal(state.typing.size, 0, "an empty conversation's entry goes");
  assert.deepEqual(receiveTyping(state, typingOf(alice), NOW), [], "our own typing (another tab) is not shown");
});

test("typing in words", () => {
  assert.equal(typingText([]), "");
  assert.equal(typingText(["Alice"]), "Alice is typing…");
  assert.equal(typingText(["Alice", "Bob"]), "Alice and Bob are typing…");
  assert.equal(typingText(["Alice", "Bob", "Carol"]), "several people are typing…");
});

test("the typing throttle: one signal every 3 s while typing, a stop only after a signal", () => {
  const t = new TypingThrottle(3000);
  assert.equal(t.cleared(), false, "nothing sent: nothing to stop");
  assert.equal(t.typing(NOW), true);
  assert.equal(t.typing(NOW + 1000), false);
  assert.equal(t.typing(NOW + 2999), false);
  assert.equal(t.typing(NOW + 3000), true);
  assert.equal(t.cleared(), true);
  assert.equal(t.cleared(), false);
  assert.equal(t.typing(NOW + 3100), true, "typing again after clearing signals at once");
  t.sent();
  assert.equal(t.typing(NOW + 3200), true, "after a send, the next draft signals at once");
});

// Receipts ------------------------------------------------------------------------------------

test("receipts: only move forward, whichever of the fetch and the event comes first; ours never count", () => {
  const state = signedIn();
  assert.deepEqual(receiveReadReceipt(state, { conversation_id: 20, user_id: bob.id, last_read_message_id: 7 }), ["receipts:20"]);
  assert.deepEqual(applyReceipts(state, 20, [{ user_id: bob.id, last_read_message_id: 5 }, { user_id: carol.id, last_read_message_id: 4 }]), ["receipts:20"]);
  assert.equal(state.receipts.get(20).get(bob.id), 7, "a late answer does not move bob back");
  assert.deepEqual(applyReceipts(state, 20, [{ user_id: bob.id, last_read_message_id: 7 }]), []);
  assert.deepEqual(receiveReadReceipt(state, { conversation_id: 20, user_id: alice.id, last_read_message_id: 9 }), []);
  assert.deepEqual(seenBy(state, 20, 5).sort(), [bob.id]);
  assert.deepEqual(seenBy(state, 20, 4).sort(), [bob.id, carol.id]);
  assert.deepEqual(seenBy(state, 20, 8), []);
  assert.deepEqual(seenBy(state, 10, 1), []);
});

test("receipts: a large group's list is the furthest ahead only: all of them read it may be more", () => {
  const state = signedIn();
  const two = [{ user_id: bob.id, last_read_message_id: 9 }, { user_id: carol.id, last_read_message_id: 5 }];
  assert.deepEqual(applyReceipts(state, 20, two, false), ["receipts:20"]);
  assert.equal(mayBeMoreReaders(state, 20, seenBy(state, 20, 5).length), true, "both listed read 5: Seen by 2+");
  assert.equal(mayBeMoreReaders(state, 20, seenBy(state, 20, 9).length), false, "only bob read 9: exactly 1");
  assert.deepEqual(applyReceipts(state, 20, two, false), [], "the same answer again changes nothing");
  assert.deepEqual(applyReceipts(state, 20, two, true), ["receipts:20"], "now complete");
  assert.equal(mayBeMoreReaders(state, 20, 2), false);
  assert.equal(mayBeMoreReaders(state, 30, 0), false);
});

test("receipts: a message tells that its sender has read up to it, if they send receipts", () => {
  const state = signedIn();
  applyReceipts(state, 20, [{ user_id: bob.id, last_read_message_id: 5 }]);
  assert.deepEqual(senderHasRead(state, { message: message(9, bob, "hi", { conversationId: 20 }) }), ["receipts:20"]);
  assert.deepEqual(seenBy(state, 20, 9), [bob.id]);
  // Carol's receipts are not here (she turned them off, or never read): her message says nothing.
  assert.deepEqual(senderHasRead(state, { message: message(10, carol, "yo", { conversationId: 20 }) }), []);
  assert.deepEqual(seenBy(state, 20, 10), []);
  assert.deepEqual(senderHasRead(state, { message: message(11, alice, "me", { conversationId: 20 }) }), []);
});

// Dispatch ------------------------------------------------------------------------------------

test("ephemeral types have their own reducers, apart from the durable ones a replay uses", () => {
  assert.deepEqual(Object.keys(EPHEMERAL_REDUCERS).sort(), [...EPHEMERAL_EVENT_TYPES].sort());
  for (const type of EPHEMERAL_EVENT_TYPES) assert.equal(EVENT_REDUCERS[type], undefined, type);
});

test("an ephemeral frame relayed by the leader tab is delivered at once and moves no stream position", async () => {
  const client = new RealtimeClient({ scope: `test-${process.pid}` });
  client.listen(); // held (no snapshot yet): durable frames would be buffered
  const heard = new Promise((resolve) => client.on("typing", resolve));
  const leader = new BroadcastChannel(client.channelName);
  const data = typingOf(bob);
  leader.postMessage({ kind: "ephemeral", type: "typing", data: JSON.stringify(data) });
  assert.deepEqual(await heard, data);
  assert.equal(client.order.position, null);
  assert.equal(client.order.buffer.length, 0);
  leader.close();
  client.channel.close();
});
