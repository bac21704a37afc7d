// Replays one person's events through the web client's own reducers and checks that the state
// they build is the state a fresh fetch gives. tests/test_views_agree.py writes the input from
// a live server's real payloads and runs this script on it:
//
//   node tests/js/replay.mjs <file.json>
//
// The file holds `{snapshot, histories?, settings?, blocked?, events: [{type, data}], fresh:
// {snapshot, histories, settings?, blocked?}}`: the snapshot (`/api/bootstrap`) the person
// started from, then every event their stream delivered after it, in order, then a fresh
// snapshot and a fresh page of history (`{messages, has_more}`) per conversation in it, keyed by
// conversation id. `settings` (`GET /api/users/me/settings`) and `blocked` (the ids of
// `GET /api/blocks`) are what the client fetches apart from the snapshot, on each stream open.
//
// Replayed: the first snapshot, then each event through events.js's EVENT_REDUCERS, with every
// conversation open (a thread) from the moment it is known, as if on screen: the starting
// snapshot's ones with their history then (`histories`, required for each), the others opened
// before their first event (an empty latest page), so their threads hold what the events bring.
// Fresh: the fresh snapshot, then each history page loaded as the client loads a latest page
// (store/messages.js mergeHistory). The two states must be equal, all of them (every field of
// store/state.js), but for people: the client keeps everyone it has seen, so the replayed side
// may know more (someone whose request was cancelled); the people the fresh state knows, who are
// everyone it refers to, must be the same on both sides; and but for `departed` (see below).
//
// Exits 0 printing what was compared, or 1 printing where the states differ.

import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";

import { EVENT_REDUCERS } from "../../src/tidings/web/static/js/events.js";
import { mergeHistory } from "../../src/tidings/web/static/js/store/messages.js";
import { applySettings } from "../../src/tidings/web/static/js/store/settings.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";

const EMPTY_PAGE = { messages: [], has_more: false };

function fail(text) {
  console.error(`replay: ${text}`);
  process.exit(1);
}

/** A conversation's thread, opened on its latest page (what the client does on opening it). */
function open(state, id, page) {
  mergeHistory(state, id, page, { older: false });
}

/** What the client fetches apart from the snapshot (loaders.js loadAttention). */
function attention(state, { settings, blocked }) {
  if (settings) applySettings(state, settings);
  if (blocked) state.blockedIds = new Set(blocked);
}

function replayed({ snapshot, histories = {}, events, ...rest }) {
  const state = createState();
  applySnapshot(state, snapshot);
  attention(state, rest);
  for (const { id } of snapshot.conversations) {
    if (!(id in histories)) fail(`no history for conversation ${id} of the starting snapshot`);
    open(state, id, histories[id]);
  }
  for (const [index, { type, data }] of events.entries()) {
    const reducer = EVENT_REDUCERS[type];
    if (!reducer) fail(`event ${index}: no reducer for type ${JSON.stringify(type)}`);
    const arriving = type === "conversation_update" && data.conversation;
    if (arriving && !state.threads.has(arriving.id) && !state.conversations.has(arriving.id)) {
      open(state, arriving.id, EMPTY_PAGE);
    }
    reducer(state, data);
  }
  return state;
}

function fresh({ snapshot, histories, ...rest }) {
  const state = createState();
  applySnapshot(state, snapshot);
  attention(state, rest);
  for (const [id, page] of Object.entries(histories)) open(state, Number(id), page);
  return state;
}

/** The state as plain data: Maps as [key, value] pairs by key, Sets as sorted arrays. Anything
 * else that is not plain data is refused, so that nothing compares equal by being left out. */
function plain(value) {
  if (value === null || ["string", "number", "boolean", "undefined"].includes(typeof value)) return value;
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return [...value].map(([k, v]) => [k, plain(v)]).sort(byKey);
  if (value instanceof Set) return [...value].sort(compare).map(plain);
  if (Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, plain(value[k])]));
  }
  throw new TypeError(`replay: cannot compare ${Object.prototype.toString.call(value)}`);
}

function compare(a, b) {
  return typeof a === "number" && typeof b === "number" ? a - b : String(a).localeCompare(String(b));
}

function byKey([a], [b]) {
  return compare(a, b);
}

/** The paths at which `a` and `b` differ, with both values. */
function differences(a, b, path = "state", out = []) {
  if (isDeepStrictEqual(a, b)) return out;
  const pairs = (x) => Array.isArray(x) && x.every((item) => Array.isArray(item) && item.length === 2);
  if (pairs(a) && pairs(b) && (a.length || b.length)) {
    const left = new Map(a);
    const right = new Map(b);
    for (const k of new Set([...left.keys(), ...right.keys()])) {
      differences(left.get(k), right.get(k), `${path}[${JSON.stringify(k)}]`, out);
    }
    return out;
  }
  const objects = (x) => x && typeof x === "object" && !Array.isArray(x);
  if (objects(a) && objects(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${path}.${k}`, out);
    return out;
  }
  out.push(`${path}:\n    replayed: ${JSON.stringify(a)}\n    fresh:    ${JSON.stringify(b)}`);
  return out;
}

const file = process.argv[2];
if (!file) fail("usage: node tests/js/replay.mjs <file.json>");
const input = JSON.parse(readFileSync(file, "utf8"));
if (!input.events?.length) fail("no events to replay (an empty replay proves nothing)");

const live = replayed(input);
const expected = fresh(input.fresh);
// People: those the fresh state knows (everyone it refers to), as the replayed state has them.
live.users = new Map([...expected.users.keys()].map((id) => [id, live.users.get(id)]));
// What the tab remembers of the conversations that went while it watched (`departed`: why an
// open one closed, to say so) is its own history, which no snapshot can hold: a conversation in
// it must be gone from both states, and then it is not compared.
for (const id of live.departed.keys()) {
  if (live.conversations.has(id) || expected.conversations.has(id)) fail(`departed conversation ${id} is still listed`);
}
live.departed = expected.departed;

const a = plain(live);
const b = plain(expected);
if (Object.keys(b).join() !== Object.keys(plain(createState())).join()) fail("the fresh state lost a field");
const found = differences(a, b);
if (found.length) {
  console.error(`replay: ${input.events.length} events replayed; the state differs from a fresh fetch at ${found.length} place(s):`);
  for (const line of found) console.error(`  ${line}`);
  process.exit(1);
}
const messages = [...expected.threads.values()].reduce((n, t) => n + t.messages.size, 0);
console.log(
  `replay: ${input.events.length} events (${[...new Set(input.events.map((e) => e.type))].sort().join(", ")}) ` +
    `give the fresh state: ${expected.conversations.size} conversations, ${messages} messages, ` +
    `${expected.notifications.size} notifications, ${expected.friendIds.size} friends, ` +
    `${expected.incoming.size + expected.outgoing.size} requests, ${expected.users.size} people`,
);
