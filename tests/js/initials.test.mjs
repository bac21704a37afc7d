// Avatar initials (dom.js `initials`): whole characters, never half of a surrogate pair or a
// letter without its accent.
import assert from "node:assert/strict";
import { test } from "node:test";

import { initials } from "../../src/tidings/web/static/js/dom.js";

const wellFormed = (text) => !/[\uD800-\uDFFF]/u.test(text.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/gu, ""));

test("initials of plain names", () => {
  assert.equal(initials("alice"), "AL");
  assert.equal(initials("Alice Liddell"), "AL");
  assert.equal(initials("  Bob   the   Builder "), "BB");
});

test("an emoji or an astral letter is one character, not half of one", () => {
  for (const name of ["🙂 Bob", "Bob 🙂", "a🙂b", "𝔞𝔟𝔠", "🙂"]) {
    assert.ok(wellFormed(initials(name)), `${name} -> ${JSON.stringify(initials(name))}`);
  }
  assert.equal(initials("🙂 Bob"), "🙂B");
  assert.equal(initials("a🙂b"), "A🙂");
});

test("a letter keeps its combining accent", () => {
  assert.equal(initials("e\u0301mile zola"), "E\u0301Z");
});
