// Reads from the server, each fed to a store reducer: the snapshot (at startup and on `resync`),
// pages of a conversation's history, and conversations an event named that the store does not
// know. Nothing here draws; views ask for history and watch the store for it.

import { api, ApiError } from "./api.js";
import { reportError } from "./errors.js";
import { state, update, watch } from "./store.js";
import { setConnection } from "./store/connection.js";
import { applyConversation, forgetMissing } from "./store/conversations.js";
import { failLoading, mergeHistory, mergeRun, sortedMessages, startLoading, threadOf } from "./store/messages.js";
import { applySnapshot } from "./store/snapshot.js";
import { applyBlocks, applySettings } from "./store/settings.js";
import { putUsers } from "./store/users.js";

const PAGE = 40;
const SNAPSHOT_RETRY_MS = 3000;
const OFFLINE_HISTORY = "You're offline: the messages will show when you're back online.";

/**
 * Fetch the snapshot while `realtime` holds its events, then let through only newer ones.
 * Retries until the server answers (at once when the browser comes online); the first failure
 * calls `onUnreachable` (the page opens offline meanwhile). Resolves to false if the session
 * has ended (the page is on its way to sign in).
 */
export async function loadSnapshot(realtime, { onUnreachable } = {}) {
  realtime.hold();
  for (let failures = 0; ; failures += 1) {
    let snapshot;
    try {
      snapshot = await api("GET", "/api/bootstrap");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 401) {
        location.assign("/login");
        return false;
      }
      update(setConnection, { status: "offline" });
      if (failures === 0) onUnreachable?.();
      await onlineOrAfter(SNAPSHOT_RETRY_MS);
      continue;
    }
    update(applySnapshot, snapshot);
    realtime.resume(snapshot.last_event_id);
    return true;
  }
}

/** Resolve after `ms`, or sooner when the browser comes online. */
function onlineOrAfter(ms) {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      globalThis.removeEventListener?.("online", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    globalThis.addEventListener?.("online", done);
  });
}

// One history request per thread at a time: conversation id -> the promise of the one in flight.
const historyLoads = new Map();

function tracked(id, load) {
  const promise = load().finally(() => historyLoads.delete(id));
  historyLoads.set(id, promise);
  return promise;
}

/**
 * Load a conversation's latest page of history (joined to what is loaded, see messages.js),
 * unless the thread is loaded, current and reaches the newest message. A load in flight (an earlier page, or the latest
 * asked for by someone else) is waited for first, then the thread looked at again: a snapshot
 * may have come meanwhile, which only a latest page asked for after it settles.
 */
export async function loadLatest(id) {
  while (historyLoads.has(id)) await historyLoads.get(id);
  const t = threadOf(state, id);
  if (t.loaded && !t.stale && t.gapAfter === null) return;
  await tracked(id, async () => {
    update(startLoading, id);
    const asOf = state.snapshots;
    try {
      const page = await api("GET", `/api/conversations/${id}/messages?limit=${PAGE}`);
      update(mergeHistory, id, page, { older: false, asOf });
    } catch (error) {
      const text = (reason) => (error?.status === 0 ? OFFLINE_HISTORY : `Couldn't load messages: ${reason}`);
      reportError("Couldn't load messages", error, (reason) => update(failLoading, id, text(reason)));
    }
  });
}

/** Load the page before the earliest loaded message, if there is one. */
export async function loadOlder(id) {
  const t = threadOf(state, id);
  const first = sortedMessages(state, id)[0];
  if (!t.hasMore || historyLoads.has(id) || !first) return;
  await tracked(id, async () => {
    update(startLoading, id);
    try {
      const page = await api("GET", `/api/conversations/${id}/messages?limit=${PAGE}&before=${first.id}`);
      update(mergeHistory, id, page, { older: true });
    } catch (error) {
      reportError("Couldn't load earlier messages", error, (reason) =>
        update(failLoading, id, `Couldn't load earlier messages: ${reason}`),
      );
    }
  });
}

/** Load the page around message `messageId` (a quoted message, the first unread one), joined to
 * what is loaded where they meet (messages.js `mergeRun`). */
export async function loadAround(id, messageId) {
  await loadRun(id, `around=${messageId}`, "Couldn't load that part of the conversation");
}

/** Load the first page after message `messageId` (0: the first page of the conversation). */
export async function loadAfter(id, messageId) {
  await loadRun(id, `after=${messageId}`, "Couldn't load messages", { after: messageId });
}

/** Load the page after the loaded run, if it stops short of the newest message. */
export async function loadNewer(id) {
  const after = threadOf(state, id).gapAfter;
  if (after === null || historyLoads.has(id)) return;
  await loadRun(id, `after=${after}`, "Couldn't load newer messages", { after });
}

async function loadRun(id, position, what, options) {
  while (historyLoads.has(id)) await historyLoads.get(id);
  await tracked(id, async () => {
    update(startLoading, id);
    try {
      const page = await api("GET", `/api/conversations/${id}/messages?limit=${PAGE}&${position}`);
      update(mergeRun, id, page, options);
    } catch (error) {
      reportError(what, error, (reason) => update(failLoading, id, `${what}: ${reason}`));
    }
  });
}

const fetching = new Set();

/** Fetch each conversation the store lacks (`state.missingConversations`), one request per id
 * at a time. */
function loadMissingConversations() {
  for (const id of state.missingConversations.keys()) {
    if (!fetching.has(id)) fetchMissing(id);
  }
}

/**
 * Fetch a conversation the store lacks. Events about it that come while the request is in flight
 * flag it again (its serial number in `missingConversations` moves on) and change nothing else, and
 * the answer may be from before them: then it is fetched again (it is known by then, so later
 * events apply to it as they come).
 */
async function fetchMissing(id) {
  fetching.add(id);
  try {
    for (;;) {
      const asked = state.missingConversations.get(id);
      let conversation;
      try {
        conversation = await api("GET", `/api/conversations/${id}`);
      } catch {
        // Gone (we were removed), or offline: nothing to show; the next snapshot settles it.
        update(forgetMissing, id);
        return;
      }
      const flaggedMeanwhile = state.missingConversations.get(id) !== asked;
      update(applyConversation, conversation);
      if (!flaggedMeanwhile) return;
    }
  } finally {
    fetching.delete(id);
  }
}

/** Keep fetching what the store lacks, for the life of the page. */
export function watchMissing() {
  watch("missing", loadMissingConversations);
}

const SEARCH_PAGE = 20;

/**
 * Search the messages of our conversations for `q` (views/search.js): a page of results, newest
 * first, `{results, has_more}`; `before` (a message id) asks for the page after the last one,
 * `conversationId` for one conversation only. Aborting `signal` rejects with the abort.
 */
export async function searchMessages(q, { before = null, conversationId = null, signal, limit = SEARCH_PAGE } = {}) {
  const params = new URLSearchParams({ q, limit: String(limit) });
  if (before !== null) params.set("before", String(before));
  if (conversationId !== null) params.set("conversation_id", String(conversationId));
  return await api("GET", `/api/search/messages?${params}`, undefined, { signal });
}

/** A message's earlier versions (`{message_id, edits: [{content, written_at, replaced_at}]}`,
 * oldest first): read on demand, never kept in the store. */
export function loadEdits(conversationId, messageId) {
  return api("GET", `/api/conversations/${conversationId}/messages/${messageId}/edits`);
}

/** Someone's profile (`{user, bio, created_at, is_friend, friend_request, mutual_groups,
 * direct_conversation_id}`): read when their card opens; the person goes in the users map. */
export async function loadProfile(userId, { signal } = {}) {
  const profile = await api("GET", `/api/users/${userId}`, undefined, { signal });
  update(putUsers, [profile.user]);
  return profile;
}

/**
 * Our settings and the people we block (store/settings.js): fetched on start and on every
 * stream open, as their events may have been missed while the stream was away. A failure is
 * reported to the console only: the defaults stand in meanwhile, and the next open tries again.
 */
export async function loadAttention() {
  const [settings, blocks] = await Promise.allSettled([api("GET", "/api/users/me/settings"), api("GET", "/api/blocks")]);
  if (settings.status === "fulfilled") update(applySettings, settings.value);
  else reportError("Couldn't load your settings", settings.reason, () => {});
  if (blocks.status === "fulfilled") update(applyBlocks, blocks.value.blocks);
  else reportError("Couldn't load the people you block", blocks.reason, () => {});
}
