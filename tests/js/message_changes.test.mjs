// Messages after they are sent: edited, deleted, reacted to, replied to; our own message reads
// the conversation; runs of history around a message that stop short of the newest.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { EVENT_REDUCERS } from "../../src/tidings/web/static/js/events.js";
import { receiveMessage } from "../../src/tidings/web/static/js/store/conversations.js";
import {
  hasNewer,
  isShown,
  mergeHistory,
  mergeRun,
  QUOTE_LENGTH,
  sortedMessages,
  threadOf,
  toggleOwnReaction,
} from "../../src/tidings/web/static/js/store/messages.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

let state;
const dm = () => state.conversations.get(10);
const shown = (id) => threadOf(state, 10).messages.get(id);
const apply = (type, data) => EVENT_REDUCERS[type](state, data);
const ids = () => sortedMessages(state, 10).map((m) => m.id);
const range = (from, to) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** A quote (`ReplyQuote`) of `original` as the server builds it. */
function quote(original) {
  return {
    id: original.id,
    sender: original.sender,
    excerpt: original.deleted ? "" : [...original.content].slice(0, QUOTE_LENGTH).join(""),
    deleted: Boolean(original.deleted),
    attachment_count: 0,
  };
}

function edited(original, content) {
  return { ...original, content, edited_at: "2026-03-02T12:00:00Z" };
}

function deleted(original) {
  return { ...original, content: "", deleted: true, reactions: [], attachments: [], edited_at: original.edited_at ?? null };
}

describe("edits, deletions and quotes", () => {
  let hi, question, reply;

  beforeEach(() => {
    state = createState();
    hi = message(1, bob, "Hi");
    question = message(2, bob, "Are you coming?");
    reply = { ...message(3, alice, "Yes!"), reply_to: quote(question) };
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: reply, readUpTo: 3 })] }));
    mergeHistory(state, 10, { messages: [hi, question, reply], has_more: false }, { older: false });
  });

  test("a message keeps its quote, edit time, deletion, reactions and attachments; quoted people by id", () => {
    const record = shown(3);
    assert.deepEqual(record.reply_to, { id: 2, sender_id: bob.id, excerpt: "Are you coming?", deleted: false, attachment_count: 0 });
    assert.equal(record.edited_at, null);
    assert.equal(record.deleted, false);
    assert.deepEqual(record.reactions, []);
    assert.deepEqual(record.attachments, []);
  });

  test("an edit replaces the message, the quotes of its replies and the sidebar's copy of a reply", () => {
    const topics = apply("message_updated", { message: edited(question, "Are you coming tonight?") });
    assert.ok(topics.includes("messages:10"));
    assert.ok(topics.includes("conversations"));
    assert.equal(shown(2).content, "Are you coming tonight?");
    assert.equal(shown(2).edited_at, "2026-03-02T12:00:00Z");
    assert.equal(shown(3).reply_to.excerpt, "Are you coming tonight?");
    assert.equal(dm().last_message.reply_to.excerpt, "Are you coming tonight?");
    // Again: nothing changes.
    assert.deepEqual(apply("message_updated", { message: edited(question, "Are you coming tonight?") }), []);
  });

  test("a quote is the first 200 code points of the message", () => {
    const long = "😀".repeat(250);
    apply("message_updated", { message: edited(question, long) });
    assert.equal([...shown(3).reply_to.excerpt].length, 200);
    assert.equal(shown(3).reply_to.excerpt, "😀".repeat(200));
  });

  test("an edit of the last message changes the sidebar's last message", () => {
    apply("message_updated", { message: edited(reply, "Yes, at 8") });
    assert.equal(dm().last_message.content, "Yes, at 8");
    assert.equal(dm().last_message.reply_to.excerpt, "Are you coming?");
  });

  test("a page asked before an edit does not undo it", () => {
    apply("message_updated", { message: edited(question, "new") });
    mergeHistory(state, 10, { messages: [hi, question, reply], has_more: false }, { older: false });
    assert.equal(shown(2).content, "new");
    apply("message_deleted", { message: deleted(question) });
    mergeHistory(state, 10, { messages: [hi, edited(question, "new"), reply], has_more: false }, { older: false });
    assert.equal(shown(2).deleted, true);
  });

  test("a deletion leaves a placeholder, and the quotes of its replies say so", () => {
    apply("message_deleted", { message: deleted(question) });
    assert.equal(shown(2).deleted, true);
    assert.equal(shown(2).content, "");
    assert.deepEqual(shown(3).reply_to, { id: 2, sender_id: bob.id, excerpt: "", deleted: true, attachment_count: 0 });
    assert.equal(dm().last_message.reply_to.deleted, true);
  });

  test("the deleted last message stays the last message", () => {
    apply("message_deleted", { message: deleted(reply) });
    assert.equal(dm().last_message.id, 3);
    assert.equal(dm().last_message.deleted, true);
    assert.equal(dm().last_message.content, "");
  });

  test("an edit of a message not loaded here changes only the loaded quotes", () => {
    const older = message(0.5, bob, "old");
    apply("message_updated", { message: edited(older, "older still") });
    assert.equal(threadOf(state, 10).messages.has(0.5), false);
  });

  test("events for a conversation the store does not know ask for it", () => {
    const elsewhere = message(7, carol, "x", { conversationId: 20 });
    assert.ok(apply("message_deleted", { message: deleted(elsewhere) }).includes("missing"));
    assert.ok(state.missingConversations.has(20));
  });
});

describe("a deleted message and the unread count", () => {
  beforeEach(() => {
    state = createState();
    const first = message(1, bob, "Hi");
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: first, readUpTo: 1 })] }));
  });

  test("an unread message from someone else, deleted, is unread no more (once)", () => {
    const late = message(2, bob, "Oops");
    const hello = message(3, bob, "Hello");
    receiveMessage(state, { message: late });
    receiveMessage(state, { message: hello });
    assert.equal(dm().unread_count, 2);
    apply("message_deleted", { message: deleted(late) });
    assert.equal(dm().unread_count, 1);
    apply("message_deleted", { message: deleted(hello) });
    assert.equal(dm().unread_count, 0);
    // The last message is known deleted: a second deletion event counts nothing.
    assert.deepEqual(apply("message_deleted", { message: deleted(hello) }), []);
    assert.equal(dm().unread_count, 0);
  });

  test("a message known deleted in the thread counts once", () => {
    mergeHistory(state, 10, { messages: [message(1, bob, "Hi")], has_more: false }, { older: false });
    const late = message(2, bob, "Oops");
    receiveMessage(state, { message: late });
    receiveMessage(state, { message: message(3, bob, "Hello") });
    apply("message_deleted", { message: deleted(late) });
    apply("message_deleted", { message: deleted(late) });
    assert.equal(dm().unread_count, 1);
  });

  test("a read message, or our own, deleted, changes no count", () => {
    apply("message_deleted", { message: deleted(message(1, bob, "Hi")) });
    assert.equal(dm().unread_count, 0);
    receiveMessage(state, { message: message(2, bob, "x") });
    const mine = message(3, alice, "mine");
    receiveMessage(state, { message: mine });
    apply("message_deleted", { message: deleted(mine) });
    assert.equal(dm().unread_count, 0);
  });
});

describe("our own message reads the conversation", () => {
  test("unread 0, read up to it", () => {
    state = createState();
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: message(1, bob, "Hi"), readUpTo: 0, unread: 1 })] }));
    receiveMessage(state, { message: message(2, bob, "Hello?") });
    assert.equal(dm().unread_count, 2);
    receiveMessage(state, { message: message(3, alice, "Here") });
    assert.equal(dm().unread_count, 0);
    assert.equal(dm().last_read_message_id, 3);
    receiveMessage(state, { message: message(4, bob, "Good") });
    assert.equal(dm().unread_count, 1);
  });
});

describe("reactions", () => {
  beforeEach(() => {
    state = createState();
    const first = message(1, bob, "Hi");
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last: first, readUpTo: 1 })] }));
    mergeHistory(state, 10, { messages: [first], has_more: false }, { older: false });
  });

  const thumbs = (...users) => ({ emoji: "👍", count: users.length, user_ids: users.map((u) => u.id) });

  test("the event replaces the message's reactions, in the thread and the sidebar", () => {
    const topics = apply("message_reactions", { conversation_id: 10, message_id: 1, reactions: [thumbs(bob, alice)] });
    assert.deepEqual(topics, ["messages:10", "conversations"]);
    assert.deepEqual(shown(1).reactions, [thumbs(bob, alice)]);
    assert.deepEqual(dm().last_message.reactions, [thumbs(bob, alice)]);
    assert.deepEqual(apply("message_reactions", { conversation_id: 10, message_id: 1, reactions: [thumbs(bob, alice)] }), []);
    apply("message_reactions", { conversation_id: 10, message_id: 1, reactions: [] });
    assert.deepEqual(shown(1).reactions, []);
  });

  test("a reaction to a message not loaded, or in a conversation not open, is ignored", () => {
    assert.deepEqual(apply("message_reactions", { conversation_id: 10, message_id: 99, reactions: [thumbs(bob)] }), []);
    assert.deepEqual(apply("message_reactions", { conversation_id: 55, message_id: 1, reactions: [thumbs(bob)] }), []);
  });

  test("ours shows at once, and the event settles it", () => {
    apply("message_reactions", { conversation_id: 10, message_id: 1, reactions: [thumbs(bob)] });
    toggleOwnReaction(state, 10, 1, "👍", true);
    assert.deepEqual(shown(1).reactions, [thumbs(bob, alice)]);
    assert.deepEqual(toggleOwnReaction(state, 10, 1, "👍", true), []); // already there
    toggleOwnReaction(state, 10, 1, "🎉", true);
    assert.deepEqual(shown(1).reactions.map((r) => r.emoji), ["👍", "🎉"]);
    toggleOwnReaction(state, 10, 1, "🎉", false);
    toggleOwnReaction(state, 10, 1, "👍", false);
    assert.deepEqual(shown(1).reactions, [thumbs(bob)]);
    apply("message_reactions", { conversation_id: 10, message_id: 1, reactions: [thumbs(bob, alice)] });
    assert.deepEqual(shown(1).reactions, [thumbs(bob, alice)]);
  });
});

describe("runs that stop short of the newest message", () => {
  const page = (from, to, { hasMore = true, hasNewer = true } = {}) => ({
    messages: range(from, to).map((id) => message(id, bob, `m${id}`)),
    has_more: hasMore,
    has_newer: hasNewer,
  });

  beforeEach(() => {
    state = createState();
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));
    mergeHistory(state, 10, { ...page(61, 100), has_newer: undefined }, { older: false });
  });

  test("a page around an older message: shown alone, what was loaded waits beyond it", () => {
    mergeRun(state, 10, page(10, 30));
    assert.deepEqual(ids(), range(10, 30));
    assert.equal(hasNewer(state, 10), true);
    assert.equal(isShown(state, 10, 70), false);
    assert.equal(threadOf(state, 10).messages.has(70), true);
    // Live messages wait too.
    receiveMessage(state, { message: message(101, bob, "live") });
    assert.deepEqual(ids(), range(10, 30));
    // Pages after the run join it; the last one (nothing newer) joins everything.
    mergeRun(state, 10, page(31, 50), { after: 30 });
    assert.deepEqual(ids(), range(10, 50));
    mergeRun(state, 10, page(51, 70, { hasNewer: true }), { after: 50 });
    assert.deepEqual(ids(), range(10, 70));
    mergeRun(state, 10, page(71, 90, { hasNewer: false }), { after: 70 });
    assert.equal(hasNewer(state, 10), false);
    assert.deepEqual(ids(), range(10, 101));
  });

  test("a page around a message that overlaps what is loaded joins it", () => {
    mergeRun(state, 10, page(41, 70));
    assert.deepEqual(ids(), range(41, 100));
    assert.equal(hasNewer(state, 10), false);
    assert.equal(threadOf(state, 10).hasMore, true);
    mergeRun(state, 10, page(1, 50, { hasMore: false }));
    assert.deepEqual(ids(), range(1, 100));
    assert.equal(threadOf(state, 10).hasMore, false);
  });

  test("older pages load before a run that stops short", () => {
    mergeRun(state, 10, page(20, 30));
    mergeHistory(state, 10, page(1, 19, { hasMore: false }), { older: true });
    assert.deepEqual(ids(), range(1, 30));
    assert.equal(threadOf(state, 10).hasMore, false);
    assert.equal(hasNewer(state, 10), true);
  });

  test("the latest page after a run that stops short replaces it unless it reaches it", () => {
    mergeRun(state, 10, page(10, 30));
    mergeHistory(state, 10, page(81, 120), { older: false });
    assert.deepEqual(ids(), range(81, 120));
    assert.equal(hasNewer(state, 10), false);
    assert.equal(threadOf(state, 10).hasMore, true);
    mergeRun(state, 10, page(10, 30));
    mergeHistory(state, 10, page(25, 120), { older: false });
    assert.deepEqual(ids(), range(10, 120));
  });

  test("a page after a run that stops short, not reaching it, replaces it", () => {
    mergeRun(state, 10, page(10, 30));
    mergeRun(state, 10, page(40, 50));
    assert.deepEqual(ids(), range(40, 50));
    assert.equal(hasNewer(state, 10), true);
  });

  test("a thread first opened on a page around a message", () => {
    state.threads.clear();
    mergeRun(state, 10, page(40, 60, { hasMore: false }));
    assert.deepEqual(ids(), range(40, 60));
    assert.equal(threadOf(state, 10).hasMore, false);
    assert.equal(hasNewer(state, 10), true);
    state.threads.clear();
    mergeRun(state, 10, page(40, 60, { hasNewer: false }));
    assert.equal(hasNewer(state, 10), false);
  });

  test("an empty page after the run: the run reaches the newest", () => {
    mergeRun(state, 10, page(10, 30));
    mergeRun(state, 10, { messages: [], has_more: true, has_newer: false }, { after: 30 });
    assert.equal(hasNewer(state, 10), false);
  });
});
