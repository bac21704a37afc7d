// The sidebar's conversations, as `message` and `conversation_update` events keep them.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import {
  applyConversation,
  conversationTitle,
  directWith,
  forgetMissing,
  receiveConversationUpdate,
  receiveMessage,
  sortedConversations,
} from "../../src/tidings/web/static/js/store/conversations.js";
import { mergeHistory, threadOf } from "../../src/tidings/web/static/js/store/messages.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

let state;
const dm = () => state.conversations.get(10);

beforeEach(() => {
  state = createState();
  const first = message(1, bob, "Hi");
  applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: first, readUpTo: 1 })] }));
});

describe("message events", () => {
  test("someone else's message is the last one and unread, once however often it comes", () => {
    const m = message(2, bob, "Are you there?");
    assert.deepEqual(receiveMessage(state, { message: m }), ["conversations"]);
    receiveMessage(state, { message: m });
    assert.equal(dm().last_message.content, "Are you there?");
    assert.equal(dm().last_message.sender_id, bob.id);
    assert.equal(dm().unread_count, 1);
  });

  test("our own message is the last one, not unread; an older one changes nothing", () => {
    receiveMessage(state, { message: message(3, alice, "Yes") });
    assert.equal(dm().unread_count, 0);
    assert.deepEqual(receiveMessage(state, { message: message(2, bob, "late") }), []);
    assert.equal(dm().last_message.id, 3);
  });

  test("a message at or below our read position is not unread", () => {
    applyConversation(state, { ...conversation(10, [alice, bob]), members: null, unread_count: 0, last_read_message_id: 5 });
    receiveMessage(state, { message: message(4, bob, "old news") });
    assert.equal(dm().unread_count, 0);
  });

  test("a message in a conversation the store does not know asks for it", () => {
    assert.deepEqual(receiveMessage(state, { message: message(7, carol, "Hello?", { conversationId: 20 }) }), ["users", "missing"]);
    assert.deepEqual([...state.missingConversations.keys()], [20]);
    applyConversation(state, conversation(20, [alice, carol], { last: message(7, carol, "Hello?", { conversationId: 20 }) }));
    assert.deepEqual([...state.missingConversations.keys()], []);
    assert.equal(conversationTitle(state, state.conversations.get(20)), "Carol King");
    assert.deepEqual(forgetMissing(state, 20), []);
  });

  test("each event about an unknown conversation flags it anew (a fetch in flight then asks again)", () => {
    receiveMessage(state, { message: message(7, carol, "Hello?", { conversationId: 20 }) });
    const asked = state.missingConversations.get(20);
    receiveMessage(state, { message: message(8, carol, "Still there?", { conversationId: 20 }) });
    const again = state.missingConversations.get(20);
    assert.ok(again > asked);
    // Cleared by a snapshot and flagged once more: still a number never used for it before.
    applySnapshot(state, snapshot(alice));
    receiveConversationUpdate(state, { conversation_id: 20, conversation: { ...conversation(20, [alice, carol]), members: null } });
    assert.ok(state.missingConversations.get(20) > again);
  });

  test("an update without members for a conversation we do not know is not made up", () => {
    assert.deepEqual(applyConversation(state, { ...conversation(30, [alice, carol]), members: null }), ["missing"]);
    assert.equal(state.conversations.has(30), false);
  });
});

describe("conversation_update events", () => {
  test("read: our counts, members kept", () => {
    receiveMessage(state, { message: message(2, bob, "x") });
    receiveConversationUpdate(state, {
      conversation_id: 10,
      reason: "read",
      conversation: { ...conversation(10, [alice, bob], { unread: 0, readUpTo: 2 }), members: null },
    });
    assert.equal(dm().unread_count, 0);
    assert.equal(dm().last_read_message_id, 2);
    assert.deepEqual(dm().member_ids, [alice.id, bob.id]);
  });

  test("read for a conversation the store does not know cannot be shown: it is fetched", () => {
    const update = { conversation_id: 30, reason: "read", conversation: { ...conversation(30, [alice, bob]), members: null } };
    assert.deepEqual(receiveConversationUpdate(state, update), ["missing"]);
    assert.equal(state.conversations.has(30), false);
  });

  test("created / member_added: members, and our counts kept (a new one read to its end)", () => {
    receiveMessage(state, { message: message(2, bob, "x") });
    const group = conversation(40, [alice, bob, carol], { type: "group", name: "Book club", last: message(9, bob, "Welcome", { conversationId: 40 }) });
    receiveConversationUpdate(state, { conversation_id: 40, reason: "created", conversation: { ...group, unread_count: null, last_read_message_id: null } });
    const added = state.conversations.get(40);
    assert.equal(added.unread_count, 0);
    assert.equal(added.last_read_message_id, 9);
    receiveConversationUpdate(state, {
      conversation_id: 10,
      reason: "member_added",
      conversation: { ...conversation(10, [alice, bob, carol]), unread_count: null, last_read_message_id: null },
    });
    assert.equal(dm().unread_count, 1);
    assert.deepEqual(dm().member_ids, [alice.id, bob.id, carol.id]);
  });

  test("removed: the conversation and its thread go", () => {
    mergeHistory(state, 10, { messages: [], has_more: false }, { older: false });
    assert.deepEqual(receiveConversationUpdate(state, { conversation_id: 10, reason: "removed", conversation: null }), [
      "conversations",
      "messages:10",
    ]);
    assert.equal(state.conversations.has(10), false);
    assert.equal(threadOf(state, 10).loaded, false);
  });
});

describe("people by id", () => {
  test("a changed name in any payload shows wherever the person is named", () => {
    const renamed = { ...bob, display_name: "Robert Marley" };
    assert.deepEqual(receiveMessage(state, { message: message(2, renamed, "new name") }), ["users", "conversations"]);
    assert.equal(conversationTitle(state, dm()), "Robert Marley");
  });

  test("the same person again is no change", () => {
    assert.deepEqual(receiveMessage(state, { message: message(2, bob, "same") }), ["conversations"]);
  });
});

describe("selectors", () => {
  test("latest activity first; titles; the direct conversation with someone", () => {
    applyConversation(state, conversation(40, [alice, carol], { type: "group", name: "", last: message(9, carol, "x", { conversationId: 40 }) }));
    assert.deepEqual(sortedConversations(state).map((c) => c.id), [40, 10]);
    assert.equal(conversationTitle(state, state.conversations.get(40)), "Group");
    assert.equal(directWith(state, bob.id).id, 10);
    assert.equal(directWith(state, carol.id), null);
    applyConversation(state, conversation(50, [alice]));
    assert.equal(conversationTitle(state, state.conversations.get(50)), "Just you");
  });
});
