// The `user_updated` event in the dispatch table: a state built from a snapshot and the event is
// the state a fresh snapshot gives.
import assert from "node:assert/strict";
import { test } from "node:test";

import { EVENT_REDUCERS } from "../../src/tidings/web/static/js/events.js";
import { EVENT_TYPES } from "../../src/tidings/web/static/js/realtime.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { receiveUserUpdated } from "../../src/tidings/web/static/js/store/users.js";
import { alice, bob, conversation, message, snapshot } from "./fixtures.mjs";

const withAvatar = (user, url = null) => ({ ...user, avatar_url: url, deleted: false });

test("user_updated is a stream event with its reducer", () => {
  assert.ok(EVENT_TYPES.includes("user_updated"));
  assert.equal(EVENT_REDUCERS.user_updated, receiveUserUpdated);
});

test("snapshot + user_updated = a later snapshot", () => {
  const hi = message(1, bob, "Hi");
  const parts = (b) => ({ conversations: [conversation(10, [alice, b], { last: { ...hi, sender: b }, readUpTo: 1 })], friends: [b] });
  const live = createState();
  applySnapshot(live, snapshot(withAvatar(alice), parts(withAvatar(bob))));
  const later = { ...bob, display_name: "Bobby", avatar_url: "/api/avatars/k2", deleted: false };
  EVENT_REDUCERS.user_updated(live, { user: later });
  const fresh = createState();
  applySnapshot(fresh, snapshot(withAvatar(alice), parts(later)));
  assert.deepEqual(live.users, fresh.users);
  assert.deepEqual(live.friendIds, fresh.friendIds);
});
