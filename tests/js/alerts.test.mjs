// Getting attention (alerts.js), mutes with their expiry (store/conversations.js), settings and
// blocks (store/settings.js): who is alerted of what, by which tab, and what the bell counts.
import assert from "node:assert/strict";
import { test } from "node:test";

import { alertFor, announcementFor, delivery, TabBoard } from "../../src/tidings/web/static/js/alerts.js";
import {
  isMuted,
  MUTED_FOREVER,
  mutedForever,
  nextMuteEnd,
  receiveConversationUpdate,
  receiveMessage,
  unreadConversations,
} from "../../src/tidings/web/static/js/store/conversations.js";
import { bellCount } from "../../src/tidings/web/static/js/store/notifications.js";
import { applyBlocks, applySettings, DEFAULT_SETTINGS, receiveBlockUpdate, receiveSettingsUpdated } from "../../src/tidings/web/static/js/store/settings.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

const NOW = Date.parse("2026-03-02T12:00:00Z");
const IN_AN_HOUR = "2026-03-02T13:00:00Z";
const AN_HOUR_AGO = "2026-03-02T11:00:00Z";

function aliceWith(...conversations) {
  const state = createState();
  applySnapshot(state, snapshot(alice, { conversations }));
  applySettings(state, DEFAULT_SETTINGS);
  return state;
}

function muted(c, until) {
  return { ...c, muted_until: until };
}

function mention(id, conversationId, messageId, actor = bob) {
  return { id, type: "mention", actor, conversation_id: conversationId, message_id: messageId, friend_request_id: null, read: false, created_at: "2026-03-02T10:00:00Z" };
}

test("a timed mute ends by itself; one until unmuted does not", () => {
  const c = conversation(10, [alice, bob]);
  assert.equal(isMuted(c, NOW), false);
  assert.equal(isMuted(muted(c, IN_AN_HOUR), NOW), true);
  assert.equal(isMuted(muted(c, AN_HOUR_AGO), NOW), false);
  assert.equal(isMuted(muted(c, MUTED_FOREVER), NOW), true);
  assert.equal(mutedForever(muted(c, MUTED_FOREVER)), true);
  assert.equal(mutedForever(muted(c, "9999-12-31T00:00:00+00:00")), true);
  assert.equal(mutedForever(muted(c, IN_AN_HOUR)), false);
});

test("the next mute to end is the earliest timed one still running", () => {
  const state = aliceWith(
    muted(conversation(10, [alice, bob]), IN_AN_HOUR),
    muted(conversation(11, [alice, carol]), MUTED_FOREVER),
    muted(conversation(12, [alice, bob, carol], { type: "group", name: "g" }), AN_HOUR_AGO),
  );
  assert.equal(nextMuteEnd(state, NOW), Date.parse(IN_AN_HOUR));
  assert.equal(nextMuteEnd(state, Date.parse(IN_AN_HOUR) + 1), null);
});

test("a muted conversation counts unread messages but gives no bell entry until its mute ends", () => {
  const state = aliceWith(muted(conversation(10, [alice, bob]), IN_AN_HOUR), conversation(11, [alice, carol]));
  receiveMessage(state, { message: message(5, bob, "psst") });
  receiveMessage(state, { message: message(6, carol, "hi", { conversationId: 11 }) });
  assert.equal(state.conversations.get(10).unread_count, 1);
  assert.deepEqual(unreadConversations(state, NOW).map((c) => c.id), [11]);
  assert.equal(bellCount(state, NOW), 1);
  const later = Date.parse(IN_AN_HOUR) + 1;
  assert.deepEqual(unreadConversations(state, later).map((c) => c.id), [11, 10]);
  assert.equal(bellCount(state, later), 2);
});

test("our mute comes with our own `muted` and `read` events; others leave it as it is", () => {
  const state = aliceWith(conversation(10, [alice, bob]));
  const update = (reason, mutedUntil) => receiveConversationUpdate(state, { conversation_id: 10, reason, conversation: { ...conversation(10, [alice, bob]), muted_until: mutedUntil, unread_count: null, last_read_message_id: null } });
  update("muted", MUTED_FOREVER);
  assert.equal(state.conversations.get(10).muted_until, MUTED_FOREVER);
  update("member_added", null); // an event to every member: says nothing of our mute
  assert.equal(state.conversations.get(10).muted_until, MUTED_FOREVER);
  update("muted", null); // unmuted
  assert.equal(state.conversations.get(10).muted_until, null);
});

test("a conversation's blocked flag follows its events", () => {
  const state = aliceWith(conversation(10, [alice, bob]));
  assert.equal(state.conversations.get(10).blocked, false);
  receiveConversationUpdate(state, { conversation_id: 10, reason: "blocked", conversation: { ...conversation(10, [alice, bob]), blocked: true, unread_count: null, last_read_message_id: null } });
  assert.equal(state.conversations.get(10).blocked, true);
  receiveConversationUpdate(state, { conversation_id: 10, reason: "unblocked", conversation: { ...conversation(10, [alice, bob]), blocked: false, unread_count: null, last_read_message_id: null } });
  assert.equal(state.conversations.get(10).blocked, false);
});

test("a message from someone else alerts, titled by sender (and group), tagged by conversation", () => {
  const state = aliceWith(conversation(10, [alice, bob]), conversation(12, [alice, bob, carol], { type: "group", name: "Hikers" }));
  const dm = message(5, bob, "  see you\nat  noon ");
  receiveMessage(state, { message: dm });
  assert.deepEqual(alertFor(state, "message", { message: dm }, NOW), { tag: "tidings-c10", title: "Bob Marley", body: "see you at noon", conversationId: 10, messageId: 5 });
  const inGroup = message(6, carol, "x".repeat(500), { conversationId: 12 });
  receiveMessage(state, { message: inGroup });
  const alert = alertFor(state, "message", { message: inGroup }, NOW);
  assert.equal(alert.title, "Carol King in Hikers");
  assert.equal(alert.tag, "tidings-c12");
  assert.equal([...alert.body].length, 140);
});

test("no alert for our own message, a system line, a deleted or already read one, or a muted conversation", () => {
  const state = aliceWith(conversation(10, [alice, bob]), muted(conversation(11, [alice, carol]), MUTED_FOREVER));
  const own = message(5, alice, "mine");
  receiveMessage(state, { message: own });
  assert.equal(alertFor(state, "message", { message: own }, NOW), null);
  const system = { ...message(6, bob, ""), system: { action: "renamed" } };
  assert.equal(alertFor(state, "message", { message: system }, NOW), null);
  const deleted = { ...message(7, bob, ""), deleted: true };
  assert.equal(alertFor(state, "message", { message: deleted }, NOW), null);
  const old = message(4, bob, "read already"); // before our own message 5: read
  assert.equal(alertFor(state, "message", { message: old }, NOW), null);
  const quiet = message(8, carol, "shh", { conversationId: 11 });
  receiveMessage(state, { message: quiet });
  assert.equal(alertFor(state, "message", { message: quiet }, NOW), null);
});

test("a mention alerts in a muted conversation only (elsewhere its message did)", () => {
  const state = aliceWith(conversation(10, [alice, bob]), muted(conversation(11, [alice, bob, carol], { type: "group", name: "Noisy" }), IN_AN_HOUR));
  const loud = message(5, bob, "@alice look", { conversationId: 11 });
  receiveMessage(state, { message: loud });
  assert.equal(alertFor(state, "message", { message: loud }, NOW), null);
  const alert = alertFor(state, "notification", { notification: mention(1, 11, 5), unread_count: 1 }, NOW);
  assert.deepEqual(alert, { tag: "tidings-c11", title: "Bob Marley mentioned you in Noisy", body: "@alice look", conversationId: 11, messageId: 5 });
  receiveMessage(state, { message: message(6, bob, "@alice hi") });
  assert.equal(alertFor(state, "notification", { notification: mention(2, 10, 6), unread_count: 2 }, NOW), null);
  // Its mute over, the message itself alerts.
  assert.equal(alertFor(state, "notification", { notification: mention(1, 11, 5), unread_count: 1 }, Date.parse(IN_AN_HOUR) + 1), null);
});

test("friend requests and acceptances alert, each with a tag of its own; read ones do not", () => {
  const state = aliceWith();
  const request = { id: 7, type: "friend_request", actor: carol, conversation_id: null, message_id: null, friend_request_id: 3, read: false, created_at: "2026-03-02T10:00:00Z" };
  assert.deepEqual(alertFor(state, "notification", { notification: request, unread_count: 1 }, NOW), { tag: "tidings-n7", title: "Carol King", body: "wants to be your friend", conversationId: null, messageId: null });
  assert.equal(alertFor(state, "notification", { notification: { ...request, read: true }, unread_count: 0 }, NOW), null);
  assert.equal(alertFor(state, "friend_update", {}, NOW), null);
});

test("only the tab holding the stream alerts, only while no tab is visible, as the settings say", () => {
  const state = aliceWith();
  const hidden = { anyVisible: false, permission: "granted" };
  assert.deepEqual(delivery(state, { ...hidden, role: "leader" }), { notify: true, sound: true });
  assert.deepEqual(delivery(state, { ...hidden, role: "solo" }), { notify: true, sound: true });
  assert.deepEqual(delivery(state, { ...hidden, role: "follower" }), { notify: false, sound: false });
  assert.deepEqual(delivery(state, { ...hidden, role: "leader", anyVisible: true }), { notify: false, sound: false });
  assert.deepEqual(delivery(state, { ...hidden, role: "leader", permission: "default" }), { notify: false, sound: true });
  receiveSettingsUpdated(state, { settings: { ...DEFAULT_SETTINGS, notification_sound: false } });
  assert.deepEqual(delivery(state, { ...hidden, role: "leader" }), { notify: true, sound: false });
  receiveSettingsUpdated(state, { settings: { ...DEFAULT_SETTINGS, desktop_notifications: false, notification_sound: false } });
  assert.deepEqual(delivery(state, { ...hidden, role: "leader" }), { notify: false, sound: false });
  const unknown = createState(); // settings not fetched yet: nothing
  assert.deepEqual(delivery(unknown, { ...hidden, role: "leader" }), { notify: false, sound: false });
});

test("the tab board counts the visible tabs as they say, and forgets the gone", () => {
  const board = new TabBoard();
  assert.equal(board.visibleCount(false), 0);
  assert.equal(board.hear({ kind: "visibility", tab: "a", visible: true }), true);
  assert.equal(board.hear({ kind: "visibility", tab: "a", visible: true }), false);
  board.hear({ kind: "visibility", tab: "b", visible: false });
  assert.equal(board.visibleCount(false), 1);
  assert.equal(board.visibleCount(true), 2);
  board.hear({ kind: "visibility", tab: "a", visible: false });
  assert.equal(board.visibleCount(false), 0);
  board.hear({ kind: "visibility", tab: "a", visible: true });
  assert.equal(board.hear({ kind: "gone", tab: "a" }), true);
  assert.equal(board.visibleCount(false), 0);
  assert.equal(board.hear({ kind: "ask", tab: "c" }), false);
});

test("settings and blocks: applied once, topics only when something changed", () => {
  const state = createState();
  assert.deepEqual(applySettings(state, DEFAULT_SETTINGS), ["settings"]);
  assert.deepEqual(applySettings(state, { ...DEFAULT_SETTINGS }), []);
  assert.deepEqual(receiveSettingsUpdated(state, { settings: { ...DEFAULT_SETTINGS, hide_presence: true } }), ["settings"]);
  assert.equal(state.settings.hide_presence, true);
  assert.deepEqual(applyBlocks(state, [{ user: bob, created_at: "2026-03-02T10:00:00Z" }]), ["users", "blocks"]);
  assert.deepEqual([...state.blockedIds], [bob.id]);
  assert.deepEqual(receiveBlockUpdate(state, { user: bob, blocked: true }), []);
  assert.deepEqual(receiveBlockUpdate(state, { user: carol, blocked: true }), ["users", "blocks"]);
  assert.deepEqual(receiveBlockUpdate(state, { user: bob, blocked: false }), ["blocks"]);
  assert.deepEqual([...state.blockedIds], [carol.id]);
});

test("a screen reader is told of others' messages in the open conversation, not ours or elsewhere", () => {
  const state = aliceWith(conversation(10, [alice, bob]), conversation(11, [alice, carol]));
  const said = (m, openId = 10) => {
    receiveMessage(state, { message: m });
    return announcementFor(state, m, openId);
  };
  assert.equal(said(message(5, bob, "see you\n at  9")), "Bob Marley: see you at 9");
  assert.equal(said(message(6, alice, "ok")), null); // ours
  assert.equal(said(message(7, carol, "psst", { conversationId: 11 })), null); // elsewhere
  assert.equal(said(message(8, bob, "and you?"), null), null); // nothing open
  const photo = { ...message(9, bob, ""), attachments: [{ id: 1, kind: "image", filename: "a.png" }] };
  assert.equal(said(photo), "Bob Marley: 📎 Photo");
  assert.equal(said({ ...message(10, bob, ""), system: { action: "renamed", actor_id: 2 } }), null);
});
