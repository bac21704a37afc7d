// @mention autocomplete: what is being typed, who matches, the text after choosing (the list
// itself is tested in Chromium, tests/e2e/test_formatting.py).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { insertMention, matchingMembers, mentionQuery } from "../../src/tidings/web/static/js/views/mentions.js";

const alice = { id: 1, username: "alice", display_name: "Alice Liddell" };
const albert = { id: 2, username: "albert", display_name: "Albert Hofmann" };
const bob = { id: 3, username: "bob", display_name: "Bob Marley" };
const mal = { id: 4, username: "mal_2", display_name: "Alan Mal" };
const members = [bob, mal, alice, albert];

describe("mentionQuery", () => {
  test("the name typed after an @ at the caret", () => {
    assert.deepEqual(mentionQuery("hi @al", 6), { start: 3, end: 6, query: "al" });
    assert.deepEqual(mentionQuery("@", 1), { start: 0, end: 1, query: "" });
    assert.deepEqual(mentionQuery("(@bo)", 4), { start: 1, end: 4, query: "bo" });
  });

  test("the caret inside a name: the whole name is replaced, the query is what is before it", () => {
    assert.deepEqual(mentionQuery("@alice and", 3), { start: 0, end: 6, query: "al" });
  });

  test("no mention: no @, an e-mail address, a space since, a name too long", () => {
    assert.equal(mentionQuery("hello", 5), null);
    assert.equal(mentionQuery("bob@example", 11), null);
    assert.equal(mentionQuery("@al ice", 7), null);
    assert.equal(mentionQuery(`@${"a".repeat(33)}`, 34), null);
    assert.deepEqual(mentionQuery(`@${"a".repeat(32)}`, 33)?.query, "a".repeat(32));
  });
});

describe("matchingMembers", () => {
  test("username matches first, then display-name words, without me", () => {
    assert.deepEqual(
      matchingMembers(members, "al", { me: 3 }).map((u) => u.username),
      ["albert", "alice", "mal_2"],
    );
    assert.deepEqual(matchingMembers(members, "AL", { me: 1 }).map((u) => u.username), ["albert", "mal_2"]);
    assert.deepEqual(matchingMembers(members, "marl").map((u) => u.username), ["bob"]);
    assert.deepEqual(matchingMembers(members, "zed"), []);
  });

  test("an empty query lists everyone but me, up to the limit", () => {
    assert.deepEqual(matchingMembers(members, "", { me: 1 }).map((u) => u.username), ["albert", "bob", "mal_2"]);
    assert.equal(matchingMembers(members, "", { limit: 2 }).length, 2);
  });
});

describe("insertMention", () => {
  test("replaces the typed mention with @username and a space, caret after it", () => {
    assert.deepEqual(insertMention("hi @al", { start: 3, end: 6 }, "alice"), { value: "hi @alice ", caret: 10 });
    assert.deepEqual(insertMention("@alx how", { start: 0, end: 4 }, "alice"), { value: "@alice how", caret: 7 });
  });
});
