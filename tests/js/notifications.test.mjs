// Stored notifications, the bell's count, and friends.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { receiveMessage } from "../../src/tidings/web/static/js/store/conversations.js";
import {
  applyFriendRequest,
  applyFriendUpdate,
  incomingRequests,
  outgoingRequests,
  relation,
  sortedFriends,
} from "../../src/tidings/web/static/js/store/friends.js";
import {
  bellCount,
  markNotificationRead,
  receiveNotification,
  receiveNotificationsRead,
  sortedNotifications,
  unmarkNotificationRead,
} from "../../src/tidings/web/static/js/store/notifications.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

let state;

const notification = (id, actor, type = "friend_request") => ({
  id,
  type,
  actor,
  conversation_id: null,
  message_id: null,
  friend_request_id: null,
  read: false,
  created_at: "2026-03-02T10:00:00Z",
});
const request = (id, requester, addressee, status = "pending") => ({ id, requester, addressee, status, created_at: "2026-03-02T10:00:00Z" });

beforeEach(() => {
  state = createState();
  applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob])], friends: [bob] }));
});

describe("notifications", () => {
  test("a notification is kept once, by id, its actor by id; the count is the server's", () => {
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    assert.equal(state.notifications.size, 1);
    assert.equal(state.notifications.get(1).actor_id, carol.id);
    assert.equal(state.unreadCount, 1);
  });

  test("read: the named ones, or (null) all", () => {
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    receiveNotification(state, { notification: notification(2, bob, "friend_accepted"), unread_count: 2 });
    receiveNotificationsRead(state, { notification_ids: [2], unread_count: 1 });
    assert.deepEqual(sortedNotifications(state).map((n) => [n.id, n.read]), [[2, true], [1, false]]);
    receiveNotificationsRead(state, { notification_ids: null, unread_count: 0 });
    assert.equal(state.notifications.get(1).read, true);
    assert.deepEqual(markNotificationRead(state, 1), []);
  });

  test("shown read at once; unread again if asking failed", () => {
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    assert.deepEqual(markNotificationRead(state, 1), ["notifications"]);
    assert.equal(state.notifications.get(1).read, true);
    assert.deepEqual(unmarkNotificationRead(state, 1), ["notifications"]);
    assert.equal(state.notifications.get(1).read, false);
    assert.equal(state.unreadCount, 1);
  });

  test("asking failed after the server said it is read (another tab, a lost answer): it stays read", () => {
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    markNotificationRead(state, 1);
    receiveNotificationsRead(state, { notification_ids: [1], unread_count: 0 });
    assert.deepEqual(unmarkNotificationRead(state, 1), []);
    assert.equal(state.notifications.get(1).read, true);
  });

  test("undoing a read we did not show changes nothing", () => {
    receiveNotification(state, { notification: { ...notification(1, carol), read: true }, unread_count: 0 });
    assert.deepEqual(markNotificationRead(state, 1), []);
    assert.deepEqual(unmarkNotificationRead(state, 1), []);
    assert.equal(state.notifications.get(1).read, true);
  });

  test("the bell counts unread notifications plus conversations with unread messages", () => {
    receiveNotification(state, { notification: notification(1, carol), unread_count: 1 });
    receiveMessage(state, { message: message(5, bob, "one") });
    receiveMessage(state, { message: message(6, bob, "two") });
    assert.equal(bellCount(state), 2);
  });
});

describe("friends", () => {
  test("a pending request is incoming or outgoing; an answered one goes", () => {
    applyFriendRequest(state, request(1, carol, alice));
    applyFriendRequest(state, request(2, alice, { id: 4, username: "dan", display_name: "Dan Brown" }));
    assert.deepEqual(incomingRequests(state).map((r) => r.requester_id), [carol.id]);
    assert.deepEqual(outgoingRequests(state).map((r) => r.addressee_id), [4]);
    assert.equal(relation(state, carol.id).id, 1);
    assert.equal(relation(state, 4), "requested");
    applyFriendRequest(state, request(1, carol, alice, "declined"));
    assert.deepEqual(incomingRequests(state), []);
    assert.equal(relation(state, carol.id), null);
  });

  test("a friend added clears the requests between us; removed, they are not a friend", () => {
    applyFriendRequest(state, request(1, carol, alice));
    applyFriendUpdate(state, { friend: carol, status: "added", request_id: 1 });
    assert.deepEqual(incomingRequests(state), []);
    assert.deepEqual(sortedFriends(state).map((f) => f.display_name), ["Bob Marley", "Carol King"]);
    assert.equal(relation(state, carol.id), "friend");
    applyFriendUpdate(state, { friend: bob, status: "removed" });
    assert.deepEqual(sortedFriends(state).map((f) => f.id), [carol.id]);
  });
});
