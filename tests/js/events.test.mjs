// The event-dispatch table: every event type the stream sends has its reducer, and a state built
// from a snapshot and the events after it is the state a fresh snapshot gives.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EVENT_REDUCERS } from "../../src/tidings/web/static/js/events.js";
import { EVENT_TYPES } from "../../src/tidings/web/static/js/realtime.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

test("every event type the client listens to has a reducer, and only those", () => {
  assert.deepEqual(Object.keys(EVENT_REDUCERS).sort(), [...EVENT_TYPES].sort());
});

test("snapshot + events = a later snapshot", () => {
  const hi = message(1, bob, "Hi");
  const answer = message(2, alice, "Hello!");
  const fromCarol = message(3, carol, "Lunch?", { conversationId: 11 });
  const request = { id: 7, requester: carol, addressee: alice, status: "pending", created_at: "2026-03-02T10:00:00Z" };
  const notification = {
    id: 4,
    type: "friend_accepted",
    actor: carol,
    conversation_id: null,
    message_id: null,
    friend_request_id: 7,
    read: false,
    created_at: "2026-03-02T10:00:00Z",
  };

  const live = createState();
  applySnapshot(live, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: hi, readUpTo: 1 })], friends: [bob] }));
  const events = [
    ["message", { message: answer }],
    ["friend_request", { request }],
    ["friend_update", { friend: carol, status: "added", request_id: 7 }],
    ["notification", { notification, unread_count: 1 }],
    ["conversation_update", { conversation_id: 11, reason: "created", conversation: { ...conversation(11, [carol, alice]), unread_count: null, last_read_message_id: null } }],
    ["message", { message: fromCarol }],
    ["notification_read", { notification_ids: null, unread_count: 0 }],
  ];
  for (const [type, data] of events) EVENT_REDUCERS[type](live, data);

  const fresh = createState();
  applySnapshot(
    fresh,
    snapshot(alice, {
      conversations: [
        conversation(10, [alice, bob], { last: answer, readUpTo: 2 }), // sending read it
        { ...conversation(11, [carol, alice], { last: fromCarol, unread: 1 }), updated_at: fromCarol.created_at },
      ],
      notifications: [{ ...notification, read: true }],
      friends: [bob, carol],
    }),
  );
  assert.deepEqual(live.users, fresh.users);
  assert.deepEqual(live.friendIds, fresh.friendIds);
  assert.deepEqual(live.incoming, fresh.incoming);
  assert.deepEqual(live.notifications, fresh.notifications);
  assert.equal(live.unreadCount, fresh.unreadCount);
  const sidebar = (state) => [...state.conversations.values()].map(({ updated_at: _, ...rest }) => rest);
  assert.deepEqual(sidebar(live), sidebar(fresh));
});
