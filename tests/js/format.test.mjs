// Message formatting: the token tree of parseMessage (renderMessage is tested in Chromium,
// tests/e2e/test_formatting.py).
import assert from "node:assert/strict";
import { describe, test } from "node:test";

import { parseMessage, safeHref } from "../../src/tidings/web/static/js/format.js";

const members = [
  { id: 1, username: "alice" },
  { id: 2, username: "bob_b" },
];
const text = (t) => ({ type: "text", text: t });
const link = (t, href = t) => ({ type: "link", text: t, href });
const mention = (name, userId) => ({ type: "mention", text: `@${name}`, username: name.toLowerCase(), userId });
const bold = (...children) => ({ type: "bold", children });
const italic = (...children) => ({ type: "italic", children });
const code = (t) => ({ type: "code", text: t });
const br = { type: "break" };
/** The inline tokens of a one-paragraph message. */
const inline = (message) => {
  const blocks = parseMessage(message, { members });
  assert.equal(blocks.length, 1);
  assert.equal(blocks[0].type, "paragraph");
  return blocks[0].children;
};
/** Every link token's href anywhere in a tree. */
function hrefs(tokens) {
  const found = [];
  const walk = (list) => {
    for (const t of list) {
      if (t.type === "link") found.push(t.href);
      if (t.children) walk(t.children);
    }
  };
  walk(tokens);
  return found;
}
/** The text a tree shows, as renderMessage would (breaks as "\n", blocks without fences). */
function shown(tokens) {
  return tokens
    .map((t) => (t.children ? shown(t.children) : t.type === "break" ? "\n" : t.text))
    .join("");
}

describe("plain text", () => {
  test("stays one text token, line breaks as break tokens", () => {
    assert.deepEqual(inline("Hello there"), [text("Hello there")]);
    assert.deepEqual(inline("Are you free?\nDinner at 8?"), [text("Are you free?"), br, text("Dinner at 8?")]);
    assert.deepEqual(inline("a\n\nb"), [text("a"), br, br, text("b")]);
  });

  test("empty text has no blocks", () => {
    assert.deepEqual(parseMessage(""), []);
    assert.deepEqual(parseMessage(undefined), []);
  });

  test("HTML is text", () => {
    const hostile = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;
    assert.deepEqual(inline(hostile), [text(hostile)]);
  });
});

describe("bold, italic and code", () => {
  test("*bold*, **bold**, _italic_ and `code`", () => {
    assert.deepEqual(inline("a *b* **c** _d_ `e`"), [
      text("a "),
      bold(text("b")),
      text(" "),
      bold(text("c")),
      text(" "),
      italic(text("d")),
      text(" "),
      code("e"),
    ]);
  });

  test("nest, and may hold code, links and mentions", () => {
    assert.deepEqual(inline("*bold _both_ `x` @alice https://a.io*"), [
      bold(text("bold "), italic(text("both")), text(" "), code("x"), text(" "), mention("alice", 1), text(" "), link("https://a.io", "https://a.io/")),
    ]);
  });

  test("need word boundaries: snake_case, 2*3*4, a * b * c stay text", () => {
    for (const plain of ["snake_case_names", "2*3*4 = 24", "a * b * c", "my_var and your_var", "__init__", "file_name.py_"]) {
      assert.deepEqual(inline(plain), [text(plain)], plain);
    }
  });

  test("around punctuation", () => {
    assert.deepEqual(inline("(*yes*), _no_!"), [text("("), bold(text("yes")), text("), "), italic(text("no")), text("!")]);
  });

  test("unclosed markers stay literal", () => {
    assert.deepEqual(inline("*not bold"), [text("*not bold")]);
    assert.deepEqual(inline("_half *done_"), [italic(text("half *done"))]);
    assert.deepEqual(inline("`no end"), [text("`no end")]);
    assert.deepEqual(inline("***"), [text("***")]);
  });

  test("overlapping markers: the first pair wins, the rest is text", () => {
    assert.deepEqual(inline("*a _b* c_"), [bold(text("a _b")), text(" c_")]);
  });

  test("code is verbatim, and a run of n backticks ends at the next run of n", () => {
    assert.deepEqual(inline("`*not bold* <b> https://x.io @alice`"), [code("*not bold* <b> https://x.io @alice")]);
    assert.deepEqual(inline("``a ` b`` c"), [code("a ` b"), text(" c")]);
    assert.deepEqual(inline("```one line```"), [code("one line")]);
  });
});

describe("fenced code blocks", () => {
  test("with or without a language, content verbatim", () => {
    const message = "Look:\n```js\nconst a = *b* + `c`;\n  <img src=x>\n```\nnice, *right*?";
    assert.deepEqual(parseMessage(message, { members }), [
      { type: "paragraph", children: [text("Look:")] },
      { type: "codeblock", lang: "js", text: "const a = *b* + `c`;\n  <img src=x>" },
      { type: "paragraph", children: [text("nice, "), bold(text("right")), text("?")] },
    ]);
    assert.deepEqual(parseMessage("```\n\n  x\n```"), [{ type: "codeblock", lang: "", text: "\n  x" }]);
  });

  test("an unclosed fence is text", () => {
    assert.deepEqual(parseMessage("```\ncode"), [{ type: "paragraph", children: [text("```"), br, text("code")] }]);
  });

  test("a fence line with more than a language word does not open a block", () => {
    assert.deepEqual(parseMessage("```js x\ny\n```").length, 1);
    assert.deepEqual(parseMessage("```js x\ny\n```")[0].type, "paragraph");
  });

  test("two blocks", () => {
    const blocks = parseMessage("```\na\n```\nand\n```py\nb\n```");
    assert.deepEqual(
      blocks.map((b) => b.type),
      ["codeblock", "paragraph", "codeblock"],
    );
    assert.equal(blocks[2].lang, "py");
  });
});

describe("links", () => {
  test("bare http and https URLs", () => {
    assert.deepEqual(inline("see https://example.com/a?b=c#d now"), [text("see "), link("https://example.com/a?b=c#d"), text(" now")]);
    assert.deepEqual(inline("HTTP://Example.com"), [link("HTTP://Example.com", "http://example.com/")]);
  });

  test("trailing punctuation is not part of the link; balanced brackets are", () => {
    assert.deepEqual(inline("Go to https://a.io/x."), [text("Go to "), link("https://a.io/x"), text(".")]);
    assert.deepEqual(inline("https://a.io, https://b.io!"), [link("https://a.io", "https://a.io/"), text(", "), link("https://b.io", "https://b.io/"), text("!")]);
    assert.deepEqual(inline("(https://a.io/x)"), [text("("), link("https://a.io/x"), text(")")]);
    assert.deepEqual(inline("https://en.wikipedia.org/wiki/Tea_(meal))."), [
      link("https://en.wikipedia.org/wiki/Tea_(meal)"),
      text(")."),
    ]);
  });

  test("underscores and stars in a URL do not format", () => {
    assert.deepEqual(inline("https://x.io/a_b_c/*d*"), [link("https://x.io/a_b_c/*d")].concat([text("*")]));
    assert.deepEqual(inline("_https://x.io/a_b_"), [italic(link("https://x.io/a_b"))]);
  });

  test("www. links go to https", () => {
    assert.deepEqual(inline("at www.example.com/x."), [text("at "), link("www.example.com/x", "https://www.example.com/x"), text(".")]);
  });

  test("nothing but http(s) is a link: javascript:, data:, [x](url) stay text", () => {
    for (const hostile of [
      "javascript:alert(1)",
      "JaVaScRiPt:alert(1)",
      "[x](javascript:alert(1))",
      "[x](https://example.com)",
      "data:text/html,<script>alert(1)</script>",
      "vbscript:msgbox(1)",
      "http://",
      "https:// example.com",
      "xhttps://example.com",
    ]) {
      const tokens = parseMessage(hostile, { members });
      for (const href of hrefs(tokens)) assert.match(href, /^https?:\/\//, hostile);
      assert.equal(shown(tokens[0].children), hostile, hostile);
    }
    assert.deepEqual(inline("[x](javascript:alert(1))"), [text("[x](javascript:alert(1))")]);
    assert.deepEqual(inline("[x](https://e.io)"), [text("[x]("), link("https://e.io", "https://e.io/"), text(")")]);
  });

  test("safeHref accepts only http(s) URLs with a host", () => {
    assert.equal(safeHref("https://e.io/a b"), "https://e.io/a%20b");
    for (const bad of ["javascript:alert(1)", " javascript:alert(1)", "data:,x", "file:///etc/passwd", "//e.io", "nonsense", "http://"]) {
      assert.equal(safeHref(bad), null, bad);
    }
  });
});

describe("mentions", () => {
  test("of members only, any case, not inside words or e-mail addresses", () => {
    assert.deepEqual(inline("@alice, @ALICE and @bob_b: @carol"), [
      mention("alice", 1),
      text(", "),
      { ...mention("ALICE", 1), username: "alice" },
      text(" and "),
      mention("bob_b", 2),
      text(": @carol"),
    ]);
    assert.deepEqual(inline("mail alice@alice.io"), [text("mail alice@alice.io")]);
    assert.deepEqual(inline("@alicex @al"), [text("@alicex @al")]);
  });

  test("members may be a Map of lower-case usernames", () => {
    const blocks = parseMessage("hi @Alice", { members: new Map([["alice", { id: 7, username: "alice" }]]) });
    assert.deepEqual(blocks[0].children, [text("hi "), { type: "mention", text: "@Alice", username: "alice", userId: 7 }]);
  });

  test("without members there are no mentions", () => {
    assert.deepEqual(parseMessage("@alice")[0].children, [text("@alice")]);
  });
});

describe("adversarial input", () => {
  // Each is about 4000 characters (the longest message). The parser is linear (no backtracking
  // expressions, each marker paired once), so they all finish; what is checked is the result:
  // every character but the markers consumed by formatting is shown, in order.
  const markers = /[*_`]/g;
  const cases = {
    stars: "*a ".repeat(1333),
    mixed: "*_".repeat(2000),
    underscores: "_a".repeat(2000),
    backticks: Array.from({ length: 800 }, (_, i) => "`".repeat((i % 7) + 1) + "x").join("").slice(0, 4000),
    urls: "https://a.io/(".repeat(285),
    brackets: "https://a.io/" + ")".repeat(3987),
    mentions: "@alice@".repeat(571),
    nested: "*a _b ".repeat(330) + "x" + " c_ d*".repeat(330),
  };
  for (const [name, message] of Object.entries(cases)) {
    test(name, () => {
      const blocks = parseMessage(message, { members });
      assert.equal(blocks.length, 1);
      for (const href of hrefs(blocks)) assert.match(href, /^https?:\/\//);
      assert.equal(shown(blocks[0].children).replace(markers, ""), message.replace(markers, ""));
    });
  }

  test("a URL with 3987 closing brackets keeps none", () => {
    assert.deepEqual(inline(cases.brackets), [link("https://a.io/"), text(")".repeat(3987))]);
  });

  test("many fences pair in order", () => {
    const blocks = parseMessage("```\n".repeat(1000));
    assert.equal(blocks.length, 500);
    for (const block of blocks) assert.deepEqual(block, { type: "codeblock", lang: "", text: "" });
  });

  test("deep nesting pairs from the inside out", () => {
    let depth = 0;
    let node = parseMessage(cases.nested)[0].children[0];
    while (node?.children) {
      depth++;
      node = node.children.find((child) => child.children);
    }
    assert.equal(depth, 660);
  });
});
