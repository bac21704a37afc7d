// People: the users map keeps each person's name, avatar and whether their account is deleted,
// and `user_updated` changes them (so every view drawing from it redraws).
import assert from "node:assert/strict";
import { test } from "node:test";

import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { conversationTitle } from "../../src/tidings/web/static/js/store/conversations.js";
import { relation, sortedFriends } from "../../src/tidings/web/static/js/store/friends.js";
import { putUsers, receiveUserUpdated, userById } from "../../src/tidings/web/static/js/store/users.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

const withAvatar = (user, url = null) => ({ ...user, avatar_url: url, deleted: false });

test("putUsers keeps avatar_url and deleted, and says 'users' only on a change", () => {
  const state = createState();
  assert.deepEqual(putUsers(state, [withAvatar(bob, "/api/avatars/abc")]), ["users"]);
  assert.deepEqual(userById(state, bob.id), { ...bob, avatar_url: "/api/avatars/abc", deleted: false });
  const record = state.users.get(bob.id);
  assert.deepEqual(putUsers(state, [withAvatar(bob, "/api/avatars/abc")]), []);
  assert.equal(state.users.get(bob.id), record, "an unchanged person keeps their record");
  assert.deepEqual(putUsers(state, [withAvatar(bob, "/api/avatars/def")]), ["users"]);
  assert.notEqual(state.users.get(bob.id), record, "a changed person gets a new record (views compare records)");
  assert.equal(userById(state, bob.id).avatar_url, "/api/avatars/def");
});

test("a payload without the avatar fields keeps what the store knew", () => {
  const state = createState();
  putUsers(state, [withAvatar(bob, "/api/avatars/abc")]);
  const { avatar_url: _a, deleted: _d, ...bare } = bob;
  assert.deepEqual(putUsers(state, [bare]), []);
  assert.equal(userById(state, bob.id).avatar_url, "/api/avatars/abc");
  // A person first seen without them: no picture, not deleted.
  const { avatar_url: _b, deleted: _e, ...bareCarol } = carol;
  putUsers(state, [bareCarol]);
  assert.deepEqual(userById(state, carol.id), { ...carol, avatar_url: null, deleted: false });
});

test("user_updated renames and re-pictures someone wherever they are shown", () => {
  const state = createState();
  const hi = message(1, bob, "Hi");
  applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: hi, readUpTo: 1 })], friends: [bob] }));
  const renamed = { ...bob, display_name: "Robert", avatar_url: "/api/avatars/k1", deleted: false };
  assert.deepEqual(receiveUserUpdated(state, { user: renamed }), ["users"]);
  assert.equal(conversationTitle(state, state.conversations.get(10)), "Robert");
  assert.equal(sortedFriends(state)[0].display_name, "Robert");
  assert.equal(userById(state, state.conversations.get(10).last_message.sender_id).avatar_url, "/api/avatars/k1");
  // The same event again (a replay) changes nothing.
  assert.deepEqual(receiveUserUpdated(state, { user: renamed }), []);
});

test("a deleted account's friendship and requests go; its DM stays, named 'Deleted user'", () => {
  const state = createState();
  const request = { id: 7, requester: carol, addressee: alice, status: "pending", created_at: "2026-03-02T10:00:00Z" };
  applySnapshot(
    state,
    snapshot(alice, { conversations: [conversation(10, [alice, bob])], friends: [bob], friend_requests: { incoming: [request], outgoing: [] } }),
  );
  const gone = { id: bob.id, username: "deleted-2", display_name: "Deleted user", avatar_url: null, deleted: true };
  assert.deepEqual(receiveUserUpdated(state, { user: gone }).sort(), ["friends", "users"]);
  assert.equal(relation(state, bob.id), null);
  assert.equal(conversationTitle(state, state.conversations.get(10)), "Deleted user");
  assert.equal(userById(state, bob.id).deleted, true);
  assert.equal(state.incoming.size, 1, "others' requests stay");
  receiveUserUpdated(state, { user: { ...carol, display_name: "Deleted user", deleted: true, avatar_url: null } });
  assert.equal(state.incoming.size, 0);
});
