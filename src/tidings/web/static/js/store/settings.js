// Our settings and the people we block: both ours alone, fetched on start and on every stream
// open (loaders.js loadAttention), and kept current in every tab by `settings_updated` and
// `block_update`.
//
// `settings` is the server's Settings {hide_presence, send_read_receipts,
// desktop_notifications, notification_sound, theme} (null until first fetched: nothing is raised or
// played until then); `blockedIds` the ids of the people we block (the people themselves are in
// the users map). Whether a DM is blocked (a block either way) is the conversation's own
// `blocked` flag (conversations.js), which `conversation_update` events keep current.

import { putUsers } from "./users.js";

/** What a new account starts with (the server's defaults). */
export const DEFAULT_SETTINGS = {
  hide_presence: false,
  send_read_receipts: true,
  desktop_notifications: true,
  notification_sound: true,
  theme: "system",
};

const KEYS = Object.keys(DEFAULT_SETTINGS);

function sameSettings(a, b) {
  return Boolean(a) && Boolean(b) && KEYS.every((k) => a[k] === b[k]);
}

/** Settings from GET/PATCH /api/users/me/settings or an event. */
export function applySettings(state, settings) {
  if (sameSettings(state.settings, settings)) return [];
  state.settings = Object.fromEntries(KEYS.map((k) => [k, settings[k] ?? DEFAULT_SETTINGS[k]]));
  return ["settings"];
}

/** The `settings_updated` event: our settings as they now are (changed in any tab). */
export function receiveSettingsUpdated(state, { settings }) {
  return applySettings(state, settings);
}

/** The settings in force: ours, or the defaults until they are fetched. */
export function settingsOf(state) {
  return state.settings ?? DEFAULT_SETTINGS;
}

/** GET /api/blocks: `[{user, created_at}]`, everyone we block. */
export function applyBlocks(state, blocks) {
  const topics = putUsers(state, blocks.map((b) => b.user));
  const ids = new Set(blocks.map((b) => b.user.id));
  if (ids.size === state.blockedIds.size && [...ids].every((id) => state.blockedIds.has(id))) return topics;
  state.blockedIds = ids;
  return [...topics, "blocks"];
}

/** The `block_update` event (and our own PUT/DELETE's answer): we block `user`, or no longer. */
export function receiveBlockUpdate(state, { user, blocked }) {
  const topics = putUsers(state, [user]);
  if (state.blockedIds.has(user.id) === blocked) return topics;
  if (blocked) state.blockedIds.add(user.id);
  else state.blockedIds.delete(user.id);
  return [...topics, "blocks"];
}

/** Whether we block `userId`. */
export function isBlocked(state, userId) {
  return state.blockedIds.has(userId);
}
