// The outbox's rules (store/outbox.js): what is kept, what goes next, what a failure means, and
// how its entries show in their conversations; and the copy of the sidebar for opening offline.
import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";

import { ApiError } from "../../src/tidings/web/static/js/api.js";
import { applyMessage, mergeHistory, pendingMessages, settlePending, threadOf } from "../../src/tidings/web/static/js/store/messages.js";
import { applyOfflineCopy, offlineCopy, parseOfflineCopy, showingOfflineCopy } from "../../src/tidings/web/static/js/store/offline.js";
import {
  newEntry,
  nextToSend,
  onlyIn,
  outcomeOf,
  parseOutbox,
  serializeOutbox,
  showOutbox,
  waitsBehind,
  withEntry,
  without,
  withStatus,
} from "../../src/tidings/web/static/js/store/outbox.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { alice, bob, carol, conversation, message, snapshot } from "./fixtures.mjs";

function send(clientId, content, conversationId = 10) {
  return {
    client_id: clientId,
    conversation_id: conversationId,
    sender_id: alice.id,
    content,
    created_at: "2026-03-02T11:00:00Z",
    reply_to: null,
    attachments: [],
  };
}

const online = { offline: false };
const offline = { offline: true };
const nobodySending = () => false;

/** Entries made one after another, as the composer would (each seeing the ones before). */
function written(sends, options = online) {
  let entries = [];
  for (const s of sends) entries = withEntry(entries, newEntry(entries, s, options));
  return entries;
}

describe("entries", () => {
  test("a message written online is sent at once, one written offline waits", () => {
    assert.equal(newEntry([], send("a", "hi"), online).status, "sending");
    assert.equal(newEntry([], send("a", "hi"), offline).status, "waiting");
  });

  test("a new message waits behind a waiting one of its conversation, not behind others", () => {
    let entries = written([send("a", "first")], offline);
    assert.equal(newEntry(entries, send("b", "second"), online).status, "waiting");
    assert.equal(newEntry(entries, send("c", "elsewhere", 11), online).status, "sending");
    // Behind one this tab is sending it goes at once too (the tab sends them in turn)...
    entries = withStatus(entries, "a", "sending");
    const here = { ...online, isSendingHere: (id) => id === "a" };
    assert.equal(newEntry(entries, send("b", "second"), here).status, "sending");
    // ...but behind another tab's (or one a closed tab left "sending") it waits.
    assert.equal(newEntry(entries, send("b", "second"), online).status, "waiting");
    // A refused one holds nothing back.
    entries = withStatus(entries, "a", "failed", "Too long");
    assert.equal(newEntry(entries, send("b", "second"), online).status, "sending");
  });

  test("a message waits behind an earlier one of its conversation that waits or is on its way", () => {
    let entries = written([send("a", "first"), send("b", "second"), send("c", "elsewhere", 11)], online);
    assert.equal(waitsBehind(entries, entries[1]), true); // a is on its way (from another tab)
    entries = withStatus(entries, "a", "waiting"); // a's answer was lost
    assert.equal(waitsBehind(entries, entries[0]), false);
    assert.equal(waitsBehind(entries, entries[1]), true);
    assert.equal(waitsBehind(entries, entries[2]), false); // another conversation
    entries = withStatus(entries, "a", "failed", "Too long"); // refused: the others go on
    assert.equal(waitsBehind(entries, entries[1]), false);
  });

  test("waiting entries go in the order written; failed ones wait for Retry", () => {
    let entries = written([send("a", "one"), send("b", "two"), send("c", "three", 11)], offline);
    assert.equal(nextToSend(entries, nobodySending).client_id, "a");
    entries = withStatus(entries, "a", "failed", "Bob is not accepting messages from you");
    assert.equal(nextToSend(entries, nobodySending).client_id, "b");
    entries = without(entries, "b");
    assert.equal(nextToSend(entries, nobodySending).client_id, "c");
    entries = without(entries, "c");
    assert.equal(nextToSend(entries, nobodySending), null);
    entries = withStatus(entries, "a", "waiting"); // Retry
    assert.equal(nextToSend(entries, nobodySending).client_id, "a");
  });

  test("nothing goes before a message of its conversation that is on its way", () => {
    const entries = withStatus(written([send("a", "one"), send("b", "two"), send("c", "three", 11)], offline), "a", "sending");
    const sendingA = (id) => id === "a";
    assert.equal(nextToSend(entries, sendingA).client_id, "c"); // b waits behind a
    assert.equal(nextToSend(entries, nobodySending).client_id, "a"); // a was left by a closed tab
    assert.equal(nextToSend(without(entries, "c"), sendingA), null);
  });

  test("an entry left sending by a tab that is gone is sent again; one being sent is not", () => {
    const entries = written([send("a", "one")], online);
    assert.equal(entries[0].status, "sending");
    assert.equal(nextToSend(entries, (id) => id === "a"), null);
    assert.equal(nextToSend(entries, nobodySending).client_id, "a");
  });

  test("kept as text and read back; what is not an entry is dropped", () => {
    const entries = withStatus(written([send("a", "one"), send("b", "two")], offline), "b", "failed", "Too long");
    assert.deepEqual(parseOutbox(serializeOutbox(entries)), entries);
    assert.deepEqual(parseOutbox(null), []);
    assert.deepEqual(parseOutbox("{not json"), []);
    assert.deepEqual(parseOutbox('{"a": 1}'), []);
    const odd = [{ ...entries[0], status: "lost" }, { ...entries[0], conversation_id: "10" }, null, entries[1]];
    assert.deepEqual(parseOutbox(JSON.stringify(odd)), [entries[1]]);
  });

  test("an entry whose reply or attachments cannot be sent is dropped, not shown or sent", () => {
    const entry = written([send("a", "one")], offline)[0];
    const broken = [
      { ...entry, reply_to: "oops" },
      { ...entry, reply_to: { id: "4" } },
      { ...entry, attachments: [null] },
      { ...entry, attachments: [{ filename: "cat.png" }] },
      { ...entry, attachments: "cat.png" },
    ];
    for (const odd of broken) assert.deepEqual(parseOutbox(JSON.stringify([odd])), [], JSON.stringify(odd));
    const { reply_to: _reply, attachments: _files, ...older } = entry; // kept before replies and files
    assert.deepEqual(parseOutbox(JSON.stringify([older])), [entry]);
  });

  test("replies and attachments are kept with the message", () => {
    const reply = { ...send("a", "yes"), reply_to: { id: 4, sender_id: bob.id, excerpt: "Lunch?", deleted: false, attachment_count: 0 } };
    const files = { ...send("b", ""), attachments: [{ id: 7, filename: "cat.png", kind: "image" }] };
    const entries = parseOutbox(serializeOutbox(written([reply, files], offline)));
    assert.deepEqual(entries[0].reply_to, reply.reply_to);
    assert.deepEqual(entries[1].attachments, files.attachments);
  });

  test("entries of conversations we are no longer in go", () => {
    const entries = written([send("a", "one"), send("b", "two", 11)], offline);
    assert.deepEqual(onlyIn(entries, new Set([11])).map((e) => e.client_id), ["b"]);
  });
});

describe("what a failed send means", () => {
  const answer = (status) => new ApiError(status, { detail: "x" });

  test("no answer (the network, a timeout, a busy or unreachable server): it waits", () => {
    for (const status of [0, 408, 429, 502, 503, 504]) assert.equal(outcomeOf(answer(status)), "lost", String(status));
    assert.equal(outcomeOf(new DOMException("timed out", "TimeoutError")), "lost");
  });

  test("a refusal fails it; a session that ended keeps it for later", () => {
    for (const status of [400, 403, 404, 409, 413, 422, 500]) assert.equal(outcomeOf(answer(status)), "refused", String(status));
    assert.equal(outcomeOf(answer(401)), "signed-out");
    assert.equal(outcomeOf(new TypeError("a bug")), "refused");
  });
});

describe("shown in their conversations", () => {
  let state;
  const states = () => pendingMessages(state, 10).map((p) => [p.client_id, p.waiting ? "waiting" : p.error ? `failed: ${p.error}` : "sending"]);

  beforeEach(() => {
    state = createState();
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob])] }));
    mergeHistory(state, 10, { messages: [message(1, bob, "Hi")], has_more: false }, { older: false });
  });

  test("each entry as a pending copy: sending, waiting or failed, in the order written", () => {
    let entries = written([send("a", "one"), send("b", "two")], offline);
    entries = withStatus(withStatus(entries, "a", "sending"), "b", "failed", "Too long");
    assert.deepEqual(showOutbox(state, entries), ["messages:10"]);
    assert.deepEqual(states(), [["a", "sending"], ["b", "failed: Too long"]]);
    assert.deepEqual(showOutbox(state, entries), []); // nothing changed
    entries = withStatus(entries, "a", "waiting");
    assert.deepEqual(showOutbox(state, entries), ["messages:10"]);
    assert.deepEqual(states(), [["a", "waiting"], ["b", "failed: Too long"]]);
  });

  test("a copy leaves with its entry (sent, or deleted)", () => {
    const entries = written([send("a", "one"), send("b", "two")], offline);
    showOutbox(state, entries);
    assert.deepEqual(showOutbox(state, without(entries, "a")), ["messages:10"]);
    assert.deepEqual(states(), [["b", "waiting"]]);
  });

  test("a message that came while its entry waits (the answer was lost) is not shown twice", () => {
    const entries = written([send("a", "ok")], offline);
    showOutbox(state, entries);
    const sent = message(2, alice, "ok", { clientId: "a" });
    applyMessage(state, sent); // by the stream
    assert.deepEqual(states(), []);
    assert.deepEqual(showOutbox(state, withStatus(entries, "a", "sending")), []); // the retry
    assert.deepEqual(states(), []);
    // Its answer: the one message, and the entry leaves.
    assert.deepEqual(settlePending(state, 10, "a", sent), []);
    assert.deepEqual(showOutbox(state, without(entries, "a")), []);
    assert.deepEqual(
      [...threadOf(state, 10).messages.values()].map((m) => m.content),
      ["Hi", "ok"],
    );
  });

  test("someone else's message with the same client id is not ours", () => {
    const entries = written([send("a", "ok")], offline);
    applyMessage(state, message(2, bob, "ok", { clientId: "a" }));
    showOutbox(state, entries);
    assert.deepEqual(states(), [["a", "waiting"]]);
  });

  test("entries of conversations the store does not know are not shown (yet)", () => {
    showOutbox(state, written([send("a", "one", 99)], offline));
    assert.equal(state.threads.has(99), false);
  });

  test("a conversation not opened gets a thread for its copies, loaded when it opens", () => {
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob]), conversation(11, [alice, carol])] }));
    showOutbox(state, written([send("a", "one", 11)], offline));
    assert.deepEqual(pendingMessages(state, 11).map((p) => p.content), ["one"]);
    assert.equal(threadOf(state, 11).loaded, false);
  });
});

describe("the copy of the sidebar for opening offline", () => {
  test("our conversations and their people, without any message", () => {
    const state = createState();
    const last = message(5, bob, "a secret");
    applySnapshot(state, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last, unread: 1, readUpTo: 4 })] }));
    const copy = offlineCopy(state);
    assert.equal(JSON.stringify(copy).includes("a secret"), false);
    assert.deepEqual(copy.users.map((u) => u.id).sort(), [alice.id, bob.id]);

    const opened = createState();
    assert.deepEqual(applyOfflineCopy(opened, parseOfflineCopy(JSON.stringify(copy), alice.id)), ["session", "users", "conversations"]);
    assert.equal(opened.meId, alice.id);
    assert.equal(showingOfflineCopy(opened), true);
    const [dm] = opened.conversations.values();
    assert.deepEqual([dm.id, dm.member_ids, dm.last_message, dm.unread_count], [10, [alice.id, bob.id], null, 0]);
    assert.equal(opened.users.get(bob.id).display_name, bob.display_name);

    // The snapshot, when it comes, replaces it; a copy is never applied over a snapshot.
    applySnapshot(opened, snapshot(alice, { conversations: [conversation(10, [alice, bob], { last, unread: 1, readUpTo: 4 })] }));
    assert.equal(showingOfflineCopy(opened), false);
    assert.deepEqual(applyOfflineCopy(opened, copy), []);
    assert.equal(opened.conversations.get(10).unread_count, 1);
  });

  test("another user's copy, or no copy, opens nothing", () => {
    const state = createState();
    applySnapshot(state, snapshot(alice, { conversations: [] }));
    const text = JSON.stringify(offlineCopy(state));
    assert.equal(parseOfflineCopy(text, bob.id), null);
    assert.equal(parseOfflineCopy(null, alice.id), null);
    assert.equal(parseOfflineCopy("[1]", alice.id), null);
    assert.equal(offlineCopy(createState()), null); // before any snapshot
  });
});
