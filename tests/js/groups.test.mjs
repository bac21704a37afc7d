// Groups in the store: settings and roles from `conversation_update` (updated, role_changed),
// a group deleted or left, and system lines ("Alice added Bob") as the last message and in words.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { may } from "../../src/tidings/web/static/js/groups.js";
import { conversationTitle, receiveConversationUpdate, receiveMessage, roleOf } from "../../src/tidings/web/static/js/store/conversations.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { putUsers } from "../../src/tidings/web/static/js/store/users.js";
import { systemText } from "../../src/tidings/web/static/js/system.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

const dave = { id: 4, username: "dave", display_name: "Dave Grohl" };

let state;
const group = () => state.conversations.get(20);

/** Book club (id 20) as the server sends it: alice owner, bob admin, carol member. */
function bookClub(overrides = {}) {
  return {
    ...conversation(20, [alice], { type: "group", name: "Book club" }),
    description: "Monthly reads",
    avatar_url: null,
    members_can_add: false,
    members: [
      { ...alice, role: "owner" },
      { ...bob, role: "admin" },
      { ...carol, role: "member" },
    ],
    ...overrides,
  };
}

/** A system line in the group, sent by `actor`. */
function systemLine(id, actor, action, { target = null, name = null, role = null } = {}) {
  return { ...message(id, actor, "", { conversationId: 20 }), system: { action, actor, target, name, role } };
}

beforeEach(() => {
  state = createState();
  applySnapshot(state, snapshot(bob, { conversations: [bookClub()] }));
});

describe("a group's settings and roles", () => {
  test("the snapshot keeps the description, picture, setting and each member's role", () => {
    assert.equal(group().description, "Monthly reads");
    assert.equal(group().avatar_url, null);
    assert.equal(group().members_can_add, false);
    assert.equal(roleOf(group(), alice.id), "owner");
    assert.equal(roleOf(group(), bob.id), "admin");
    assert.equal(roleOf(group(), carol.id), "member");
    assert.equal(roleOf(group(), dave.id), null);
  });

  test("`updated` replaces the name, description, picture and setting", () => {
    const changed = bookClub({ name: "Novel club", description: "", avatar_url: "/api/avatars/abc", members_can_add: true, last_message: null });
    const topics = receiveConversationUpdate(state, { type: "conversation_update", reason: "updated", conversation_id: 20, conversation: { ...changed, unread_count: null, last_read_message_id: null } });
    assert.ok(topics.includes("conversations"));
    assert.equal(conversationTitle(state, group()), "Novel club");
    assert.equal(group().description, "");
    assert.equal(group().avatar_url, "/api/avatars/abc");
    assert.equal(group().members_can_add, true);
  });

  test("`role_changed` replaces the roles; our unread count and read position stay", () => {
    receiveMessage(state, { message: message(5, alice, "Hello", { conversationId: 20 }) });
    assert.equal(group().unread_count, 1);
    const members = [
      { ...alice, role: "owner" },
      { ...bob, role: "member" },
      { ...carol, role: "admin" },
    ];
    receiveConversationUpdate(state, { reason: "role_changed", conversation_id: 20, conversation: { ...bookClub({ members }), unread_count: null, last_read_message_id: null } });
    assert.equal(roleOf(group(), bob.id), "member");
    assert.equal(roleOf(group(), carol.id), "admin");
    assert.equal(group().unread_count, 1);
  });

  test("a payload without the settings (an older one) keeps what is known", () => {
    const { description, avatar_url: _, members_can_add: __, ...bare } = bookClub({ avatar_url: "/api/avatars/abc" });
    receiveConversationUpdate(state, { reason: "updated", conversation_id: 20, conversation: bookClub({ avatar_url: "/api/avatars/abc" }) });
    receiveConversationUpdate(state, { reason: "member_added", conversation_id: 20, conversation: { ...bare, members: null } });
    assert.equal(group().description, description);
    assert.equal(group().avatar_url, "/api/avatars/abc");
    assert.equal(roleOf(group(), alice.id), "owner");
  });
});

describe("a group gone", () => {
  test("`deleted` drops it and remembers why, under the name it had", () => {
    const topics = receiveConversationUpdate(state, { reason: "deleted", conversation_id: 20, conversation: null });
    assert.deepEqual(topics, ["conversations"]);
    assert.equal(state.conversations.has(20), false);
    assert.deepEqual(state.departed.get(20), { reason: "deleted", title: "Book club" });
  });

  test("`removed` drops it too; added again, it is no longer departed", () => {
    receiveConversationUpdate(state, { reason: "removed", conversation_id: 20, conversation: null });
    assert.deepEqual(state.departed.get(20), { reason: "removed", title: "Book club" });
    receiveConversationUpdate(state, { reason: "created", conversation_id: 20, conversation: bookClub() });
    assert.equal(state.departed.has(20), false);
    assert.equal(state.conversations.has(20), true);
  });

  test("an unknown conversation deleted changes nothing", () => {
    assert.deepEqual(receiveConversationUpdate(state, { reason: "deleted", conversation_id: 99, conversation: null }), []);
    assert.equal(state.departed.has(99), false);
  });
});

describe("system lines", () => {
  test("a system line is the last message, never unread; ours reads up to it", () => {
    receiveMessage(state, { message: message(5, alice, "Hello", { conversationId: 20 }) });
    const line = systemLine(6, alice, "added", { target: dave });
    receiveMessage(state, { message: line });
    assert.equal(group().last_message.id, 6);
    assert.deepEqual(group().last_message.system, { action: "added", actor_id: alice.id, target_id: dave.id, name: null, role: null, members_can_add: null, removed: null });
    assert.equal(group().unread_count, 1);
    // Ours (Bob's) reads the group up to it, as the server moves the actor's read position.
    receiveMessage(state, { message: systemLine(7, bob, "renamed", { name: "Novel club" }) });
    assert.equal(group().unread_count, 0);
    assert.equal(group().last_read_message_id, 7);
    // The people it names are in the users map.
    assert.equal(state.users.get(dave.id).display_name, "Dave Grohl");
  });

  test("in words, from the users map, with us as You", () => {
    putUsers(state, [dave]);
    const words = (action, extra = {}) => systemText(state, { action, actor_id: alice.id, target_id: null, name: null, role: null, ...extra });
    assert.equal(words("added", { target_id: dave.id }), "Alice Liddell added Dave Grohl");
    assert.equal(words("removed", { target_id: bob.id }), "Alice Liddell removed you");
    assert.equal(words("left"), "Alice Liddell left");
    assert.equal(words("renamed", { name: "Novel club" }), "Alice Liddell renamed the group to “Novel club”");
    assert.equal(words("role_changed", { target_id: carol.id, role: "admin" }), "Alice Liddell made Carol King an admin");
    assert.equal(words("role_changed", { target_id: carol.id, role: "member" }), "Alice Liddell made Carol King a regular member");
    assert.equal(words("ownership_transferred", { target_id: bob.id }), "Alice Liddell made you the owner");
    assert.equal(words("created", { name: "Book club" }), "Alice Liddell created the group “Book club”");
    assert.equal(words("settings_changed", { members_can_add: true }), "Alice Liddell let every member add people");
    assert.equal(words("avatar_changed", { removed: false }), "Alice Liddell changed the group's picture");
    assert.equal(words("avatar_changed", { removed: true }), "Alice Liddell removed the group's picture");
    assert.equal(systemText(state, { action: "left", actor_id: bob.id, target_id: null, name: null, role: null }), "You left");
    // A rename of the person shows in the line.
    putUsers(state, [{ ...alice, display_name: "Alice L." }]);
    assert.equal(words("left"), "Alice L. left");
  });
});

describe("what each role may do (groups.js `may`)", () => {
  test("the owner: everything; an admin can be demoted, a member promoted", () => {
    const owner = may(group(), alice.id);
    assert.deepEqual(owner, { edit: true, add: true, delete: true });
    assert.deepEqual(may(group(), alice.id, bob.id), { ...owner, promote: false, demote: true, makeOwner: true, transfer: true, remove: true });
    assert.deepEqual(may(group(), alice.id, carol.id), { ...owner, promote: true, demote: false, makeOwner: true, transfer: true, remove: true });
  });

  test("an admin: settings, adding, and promoting, demoting or removing members, not the owner", () => {
    const admin = may(group(), bob.id);
    assert.deepEqual(admin, { edit: true, add: true, delete: false });
    assert.deepEqual(may(group(), bob.id, carol.id), { ...admin, promote: true, demote: false, makeOwner: false, transfer: false, remove: true });
    assert.deepEqual(may(group(), bob.id, alice.id), { ...admin, promote: false, demote: false, makeOwner: false, transfer: false, remove: false });
  });

  test("a member: adding only while the group lets members add people; nothing to others", () => {
    assert.deepEqual(may(group(), carol.id), { edit: false, add: false, delete: false });
    receiveConversationUpdate(state, { reason: "updated", conversation_id: 20, conversation: bookClub({ members_can_add: true }) });
    assert.equal(may(group(), carol.id).add, true);
    assert.equal(Object.values(may(group(), carol.id, bob.id)).filter(Boolean).length, 1);
  });

  test("someone not in the group may do nothing", () => {
    assert.deepEqual(may(group(), dave.id), { edit: false, add: false, delete: false });
  });
});
