// A message's text, formatted: links, @mentions, *bold*, _italic_, `code` and ``` fenced code
// blocks ```. Nothing else: no HTML, no [text](url) links (that stays text), no headings.
//
// parseMessage(text) turns the text into a plain tree of tokens (no DOM, tested in Node);
// renderMessage builds nodes from it with createElement and createTextNode only, so no part of a
// message is ever read as markup. A link gets its href only when its parsed URL is http(s).
//
// Parsing is linear in the text (one pass per line, stacks and forward-only pointers; each
// regular expression is anchored and has no nested quantifiers), since every redraw renders.
//
// Tokens:
//   blocks:  {type: "paragraph", children: Inline[]}   the lines between code blocks
//            {type: "codeblock", lang, text}          ``` lang \n text \n ```, text verbatim
//   inline:  {type: "text", text}  {type: "break"} (a line break)  {type: "code", text}
//            {type: "bold", children}  {type: "italic", children}
//            {type: "link", text, href}  {type: "mention", text, username, userId}

const FENCE_OPEN = /^```([A-Za-z0-9_+#.-]{0,32})[ \t\r]*$/;
const FENCE_CLOSE = /^```[ \t\r]*$/;
// The server's username: [A-Za-z0-9_]{3,32}, case-insensitive (stored lower case).
const USERNAME_CHAR = /[A-Za-z0-9_]/;
const USERNAME_MIN = 3;
const USERNAME_MAX = 32;
const URL_START = /https?:\/\/|www\./iy;
const URL_BODY = /[^\s<>"`]+/y;
const URL_TRAILING = new Set([..."?!.,:;'\"*_~"]);
const CLOSING = { ")": "(", "]": "[", "}": "{" };
const ALNUM = /[\p{L}\p{N}]/u;
const SPACE = /\s/u;

/** The tokens of `text` (see above). `members`: who can be mentioned, users `{id, username}`
 * (an iterable, or a Map of lower-case username to user); an @name of anyone else is text. */
export function parseMessage(text, { members } = {}) {
  const mentionable = memberIndex(members);
  const lines = String(text ?? "").split("\n");
  const blocks = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) blocks.push({ type: "paragraph", children: paragraph });
    paragraph = [];
  };
  // Fence lines, found once: a block opens at an opening fence that has a closing one after it.
  let nextClose = 0; // no closing fence before this line index
  let noMoreCloses = false;
  let pendingBreak = false;
  for (let i = 0; i < lines.length; i++) {
    const open = noMoreCloses ? null : FENCE_OPEN.exec(lines[i]);
    if (open) {
      if (nextClose <= i) nextClose = i + 1;
      while (nextClose < lines.length && !FENCE_CLOSE.test(lines[nextClose])) nextClose++;
      if (nextClose < lines.length) {
        flush();
        pendingBreak = false;
        blocks.push({ type: "codeblock", lang: open[1], text: lines.slice(i + 1, nextClose).join("\n") });
        i = nextClose;
        nextClose++;
        continue;
      }
      noMoreCloses = true;
    }
    if (pendingBreak) paragraph.push({ type: "break" });
    pendingBreak = true;
    for (const token of parseLine(lines[i], mentionable)) paragraph.push(token);
  }
  flush();
  return blocks;
}

function memberIndex(members) {
  if (members instanceof Map) return members;
  const index = new Map();
  for (const user of members ?? []) if (user?.username) index.set(user.username.toLowerCase(), user);
  return index;
}

// One line ------------------------------------------------------------------------------------

/** A line's inline tokens: first its atoms (text, code, links, mentions, emphasis markers), then
 * the markers paired into bold and italic. */
function parseLine(line, mentionable) {
  const atoms = [];
  const codeCloser = backtickRuns(line);
  let textStart = 0;
  const pushText = (end) => {
    if (end > textStart) atoms.push({ type: "text", text: line.slice(textStart, end) });
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    let atom = null;
    let end = i + 1;
    if (c === "`") {
      let run = 1;
      while (line[i + run] === "`") run++;
      const close = codeCloser(i, run);
      if (close >= 0) {
        atom = { type: "code", text: line.slice(i + run, close) };
        end = close + run;
      } else {
        end = i + run; // no closing run: literal backticks
      }
    } else if (c === "*" || c === "_") {
      let run = 1;
      while (line[i + run] === c) run++;
      end = i + run;
      if (run === 1 || (run === 2 && c === "*")) atom = delimiter(line, i, run, c);
    } else if ((c === "h" || c === "H" || c === "w" || c === "W") && !isAlnum(line[i - 1])) {
      const link = matchUrl(line, i);
      if (link) {
        atom = link.atom;
        end = link.end;
      }
    } else if (c === "@" && !isAlnum(line[i - 1])) {
      let run = 0; // the whole name-like word: a longer one is nobody
      while (i + 1 + run < line.length && USERNAME_CHAR.test(line[i + 1 + run])) run++;
      const username = line.slice(i + 1, i + 1 + run);
      const user = run >= USERNAME_MIN && run <= USERNAME_MAX ? mentionable.get(username.toLowerCase()) : undefined;
      if (user) atom = { type: "mention", text: `@${username}`, username: user.username, userId: user.id };
      end = i + 1 + run;
    }
    if (atom) {
      pushText(i);
      atoms.push(atom);
      textStart = end;
    }
    i = end;
  }
  pushText(line.length);
  return pairDelimiters(atoms);
}

/** For a backtick run at `at` of length `run`, the start of the next run of the same length,
 * or -1. Runs are looked up left to right, so each length's pointer only moves forward. */
function backtickRuns(line) {
  let byLength = null;
  const pointers = new Map();
  return (at, run) => {
    if (!byLength) {
      byLength = new Map();
      for (let i = 0; i < line.length; i++) {
        if (line[i] !== "`") continue;
        let n = 1;
        while (line[i + n] === "`") n++;
        if (!byLength.has(n)) byLength.set(n, []);
        byLength.get(n).push(i);
        i += n - 1;
      }
    }
    const starts = byLength.get(run) ?? [];
    let p = pointers.get(run) ?? 0;
    while (p < starts.length && starts[p] <= at) p++;
    pointers.set(run, p + 1); // that run is used up (as this one's end), whether or not it exists
    return p < starts.length ? starts[p] : -1;
  };
}

/** A run of `*` or `_` that can open (starts a word: no letter or digit before it, no space
 * after) or close (ends one), or null when it can do neither: `2*3*4`, `snake_case`, ` * `. */
function delimiter(line, at, run, char) {
  const before = line[at - 1];
  const after = line[at + run];
  const canOpen = !isAlnum(before) && after !== undefined && !isSpace(after);
  const canClose = !isAlnum(after) && before !== undefined && !isSpace(before);
  if (!canOpen && !canClose) return null;
  return { type: "delimiter", kind: char.repeat(run), text: char.repeat(run), canOpen, canClose };
}

/** A bare http(s) or www. URL starting at `at` (the caller checked the character before it),
 * without trailing punctuation and unbalanced closing brackets; null if there is none. */
function matchUrl(line, at) {
  URL_START.lastIndex = at;
  const start = URL_START.exec(line);
  if (!start) return null;
  URL_BODY.lastIndex = at + start[0].length;
  const body = URL_BODY.exec(line);
  if (!body) return null;
  let end = URL_BODY.lastIndex;
  const counts = { "(": 0, ")": 0, "[": 0, "]": 0, "{": 0, "}": 0 };
  for (let i = at; i < end; i++) if (line[i] in counts) counts[line[i]]++;
  while (end > at + start[0].length) {
    const last = line[end - 1];
    if (URL_TRAILING.has(last)) end--;
    else if (last in CLOSING && counts[last] > counts[CLOSING[last]]) {
      counts[last]--;
      end--;
    } else break;
  }
  if (end <= at + start[0].length) return null;
  const text = line.slice(at, end);
  const href = safeHref(start[0].toLowerCase() === "www." ? `https://${text}` : text);
  if (!href) return null;
  return { atom: { type: "link", text, href }, end };
}

/** The URL's canonical form if it parses as http or https with a host, else null. */
export function safeHref(url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if ((parsed.protocol !== "http:" && parsed.protocol !== "https:") || !parsed.hostname) return null;
  return parsed.href;
}

/** Bold and italic from paired markers (`*` or `**` bold, `_` italic): a closer pairs with
 * the nearest opener of its kind; openers of other kinds between them stay text. */
function pairDelimiters(atoms) {
  const open = new Map(); // kind -> stack of atom indexes
  const all = []; // every open marker's index, in order
  const closes = new Map(); // opener index -> closer index
  for (let i = 0; i < atoms.length; i++) {
    const atom = atoms[i];
    if (atom.type !== "delimiter") continue;
    const stack = open.get(atom.kind);
    if (atom.canClose && stack?.length) {
      const opener = stack.pop();
      // Openers after that one (of any kind) can no longer pair: they would overlap.
      while (all.length && all[all.length - 1] > opener) {
        const dropped = all.pop();
        const its = open.get(atoms[dropped].kind);
        if (its[its.length - 1] === dropped) its.pop();
      }
      all.pop();
      closes.set(opener, i);
      continue;
    }
    if (atom.canOpen) {
      if (!open.has(atom.kind)) open.set(atom.kind, []);
      open.get(atom.kind).push(i);
      all.push(i);
    }
  }
  // Build the tree: a paired opener starts a node that its closer ends.
  const root = [];
  const stack = [{ children: root, closer: -1 }];
  for (let i = 0; i < atoms.length; i++) {
    const atom = atoms[i];
    const top = stack[stack.length - 1];
    if (atom.type === "delimiter") {
      if (closes.has(i)) {
        const node = { type: atom.kind[0] === "*" ? "bold" : "italic", children: [] };
        top.children.push(node);
        stack.push({ children: node.children, closer: closes.get(i) });
      } else if (i === top.closer) {
        stack.pop();
      } else {
        appendText(top.children, atom.text);
      }
    } else if (atom.type === "text") {
      appendText(top.children, atom.text);
    } else {
      top.children.push(atom);
    }
  }
  return root;
}

function appendText(children, text) {
  const last = children[children.length - 1];
  if (last?.type === "text") last.text += text;
  else children.push({ type: "text", text });
}

function isAlnum(char) {
  return char !== undefined && ALNUM.test(char);
}

function isSpace(char) {
  return SPACE.test(char);
}

// Rendering -----------------------------------------------------------------------------------

/**
 * A DocumentFragment showing `message` (text, or the tokens of parseMessage). Options: `doc`
 * (the document to build in), `members` (for text: who can be mentioned), `me` (the viewer's
 * user id: a mention of them gets the class `mention-me`), `onMention(userId, event)` (mentions
 * become buttons that call it; otherwise spans). Line breaks stay "\n" text (the bubble keeps
 * white space), so an unformatted message's textContent is its text.
 */
export function renderMessage(message, { doc = globalThis.document, members, me, onMention } = {}) {
  const tokens = typeof message === "string" ? parseMessage(message, { members }) : message;
  const fragment = doc.createDocumentFragment();
  for (const block of tokens) {
    if (block.type === "codeblock") {
      const pre = doc.createElement("pre");
      pre.className = "fmt-pre";
      if (block.lang) pre.dataset.lang = block.lang;
      const code = doc.createElement("code");
      code.append(doc.createTextNode(block.text));
      pre.append(code);
      fragment.append(pre);
    } else {
      renderInline(fragment, block.type === "paragraph" ? (block.children ?? []) : [block], { doc, me, onMention });
    }
  }
  return fragment;
}

function renderInline(parent, tokens, options) {
  const { doc, me, onMention } = options;
  for (const token of tokens) {
    switch (token.type) {
      case "break":
        parent.append(doc.createTextNode("\n"));
        break;
      case "code":
        parent.append(element(doc, "code", "fmt-code", token.text));
        break;
      case "bold":
      case "italic": {
        const el = doc.createElement(token.type === "bold" ? "strong" : "em");
        renderInline(el, token.children ?? [], options);
        parent.append(el);
        break;
      }
      case "link": {
        const href = safeHref(token.href);
        if (!href) {
          parent.append(doc.createTextNode(String(token.text ?? "")));
          break;
        }
        const a = element(doc, "a", "fmt-link", token.text);
        a.setAttribute("href", href);
        a.setAttribute("rel", "noopener noreferrer");
        a.setAttribute("target", "_blank");
        parent.append(a);
        break;
      }
      case "mention": {
        const el = element(doc, onMention ? "button" : "span", "mention", token.text);
        if (token.userId === me) el.classList.add("mention-me");
        el.dataset.userId = String(token.userId);
        if (onMention) {
          el.setAttribute("type", "button");
          el.addEventListener("click", (event) => onMention(token.userId, event));
        }
        parent.append(el);
        break;
      }
      default:
        parent.append(doc.createTextNode(String(token.text ?? "")));
    }
  }
}

function element(doc, tag, className, text) {
  const el = doc.createElement(tag);
  el.className = className;
  el.append(doc.createTextNode(String(text ?? "")));
  return el;
}
