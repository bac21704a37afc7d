// The ephemeral side of the page's state (presence, typing, read receipts): what the stream
// does not replay, so what the page fetches for itself, and the timers it needs. Nothing here
// draws; the views watch the store's "presence", "typing" and "receipts" topics.
//
// On each stream open (first connect, reconnect, resync, or this tab taking the stream over)
// the page fetches the presence of everyone it shows (friends, DM partners, the open
// conversation's members, an open profile card: `GET /api/presence`, 200 ids a request) and
// the open conversation's receipts; people who come into view later are fetched as they do.
// Events keep both current meanwhile (events.js). While the person uses a visible tab, the
// server hears so at most once a minute (`POST /api/presence/active`: away after five minutes
// without). Typing entries are dropped when they run out; our own typing is signalled at most
// once every 3 s while the draft has text, and its end when the draft is emptied.

import { api } from "./api.js";
import { state, update, watch } from "./store.js";
import { applyPresence } from "./store/presence.js";
import { applyReceipts } from "./store/receipts.js";
import { expireTyping, nextTypingExpiry, TypingThrottle } from "./store/typing.js";

export const PRESENCE_BATCH = 200;
const GROUP_MEMBERS_SHOWN = 200; // a big group's header counts who is online among these
const ACTIVE_EVERY_MS = 60000;
const TYPING_EVERY_MS = 3000;

let openId = null; // the open conversation
const extra = new Set(); // people a view shows besides those derived from the store
const asked = new Set(); // people whose presence this stream open has fetched (or is fetching)
let streamOpen = false;

/** The ids of the people whose presence the page shows: friends, DM partners, the open
 * conversation's members (a group's first 200), and `extra`; never ourselves. */
export function shownUserIds(state, openId, extra = []) {
  const ids = new Set(state.friendIds);
  for (const c of state.conversations.values()) {
    if (c.type === "direct") for (const id of c.member_ids) ids.add(id);
  }
  const open = openId === null ? null : state.conversations.get(openId);
  for (const id of open?.member_ids.slice(0, GROUP_MEMBERS_SHOWN) ?? []) ids.add(id);
  for (const id of extra) ids.add(id);
  ids.delete(state.meId);
  return [...ids];
}

/** `ids` in requests of at most `size`. */
export function batches(ids, size = PRESENCE_BATCH) {
  const out = [];
  for (let i = 0; i < ids.length; i += size) out.push(ids.slice(i, i + size));
  return out;
}

async function fetchPresence(ids) {
  for (const batch of batches(ids)) {
    const asOf = state.presenceSerial;
    const query = batch.map((id) => `user_id=${id}`).join("&");
    try {
      const { presence } = await api("GET", `/api/presence?${query}`);
      update(applyPresence, presence, asOf);
    } catch {
      for (const id of batch) asked.delete(id); // offline: the next stream open asks again
    }
  }
}

/** Fetch the presence of whoever is shown and not fetched yet in this stream open. */
function fetchNewlyShown() {
  if (!streamOpen || state.meId === null) return;
  const ids = shownUserIds(state, openId, extra).filter((id) => !asked.has(id));
  if (!ids.length) return;
  for (const id of ids) asked.add(id);
  fetchPresence(ids);
}

async function fetchReceipts(id) {
  try {
    const { receipts, complete } = await api("GET", `/api/conversations/${id}/receipts`);
    update(applyReceipts, id, receipts, complete);
  } catch {
    // Gone or offline: "Seen" stays as it was; the next stream open asks again.
  }
}

/** The open conversation (null: none): its receipts are fetched, its members' presence too. */
export function setOpenConversation(id) {
  const changed = id !== openId;
  openId = id;
  if (changed && id !== null && streamOpen) fetchReceipts(id);
  fetchNewlyShown();
}

/** Receipts of conversation `id` again (a group's "Seen by" list being opened). */
export function refreshReceipts(id) {
  return fetchReceipts(id);
}

/** A view shows `userId` (a profile card): fetch their presence if it is not known. */
export function showPresenceOf(userId) {
  extra.add(userId);
  fetchNewlyShown();
}

function onStreamOpen() {
  asked.clear();
  fetchNewlyShown();
  if (openId !== null) fetchReceipts(openId);
}

// Typing --------------------------------------------------------------------------------------

let expiryTimer = null;

function scheduleExpiry() {
  clearTimeout(expiryTimer);
  const next = nextTypingExpiry(state);
  if (next === null) return;
  expiryTimer = setTimeout(() => {
    update(expireTyping, Date.now());
    scheduleExpiry();
  }, Math.max(0, next - Date.now()));
}

const throttles = new Map(); // conversation id -> TypingThrottle (our own typing there)

function throttleOf(id) {
  if (!throttles.has(id)) throttles.set(id, new TypingThrottle(TYPING_EVERY_MS));
  return throttles.get(id);
}

function signalTyping(id, active) {
  api("POST", `/api/conversations/${id}/typing`, { active }).catch(() => {
    // Typing is a hint: a lost one expires by itself on the other side.
  });
}

/** The composer's draft in conversation `id` changed: tell the others we type (at most once
 * every 3 s), or that we stopped (the draft is empty). */
export function draftChanged(id, text) {
  const throttle = throttleOf(id);
  if (text.trim()) {
    if (throttle.typing(Date.now())) signalTyping(id, true);
  } else if (throttle.cleared()) {
    signalTyping(id, false);
  }
}

/** We sent the draft: the message ends our typing on the other side. */
export function draftSent(id) {
  throttleOf(id).sent();
}

// Activity ------------------------------------------------------------------------------------

let lastActiveAt = -Infinity;

function onActivity() {
  if (document.visibilityState !== "visible" || state.meId === null) return;
  const now = Date.now();
  if (now - lastActiveAt < ACTIVE_EVERY_MS) return;
  lastActiveAt = now;
  api("POST", "/api/presence/active").catch(() => {
    lastActiveAt = -Infinity; // not heard: the next interaction tries again
  });
}

/** Start: watch the stream's state, who is shown, the typing entries and the person's activity. */
export function mountEphemeral() {
  let before = { status: null, role: null };
  watch("connection", () => {
    const now = state.connection;
    // A stream opened: connected again, or this tab took it over from a closed leader tab.
    const opened = now.status === "connected" && (before.status !== "connected" || (now.role === "leader" && before.role !== "leader"));
    before = { ...now };
    streamOpen = now.status === "connected";
    if (opened) onStreamOpen();
  });
  for (const topic of ["friends", "conversations", "session"]) watch(topic, fetchNewlyShown);
  watch("typing", scheduleExpiry);
  // Keys and pointers anywhere in the page, and the window coming to the front (not a field
  // being focused by the page itself).
  for (const type of ["keydown", "pointerdown"]) window.addEventListener(type, onActivity, { capture: true, passive: true });
  window.addEventListener("focus", onActivity);
  document.addEventListener("visibilitychange", onActivity);
}
