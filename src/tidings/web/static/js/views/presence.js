// Presence on screen: a dot on a person's avatar (green online, amber away, none offline: CSS
// `.presence-online` / `.presence-away`), and the same in words for screen readers and where
// there is room ("online", "away", "last seen 5 min ago"). Colour is never the only sign: the
// avatar (which is decoration, aria-hidden) gets a title, and the views put the words in the
// names' accessible labels or on screen. While we are offline, nobody's presence is known: no
// dot, and words that say so. Presence comes from store/presence.js.
import { state } from "../store.js";
import { countOnline, presenceOf, presenceText, UNKNOWN_TEXT } from "../store/presence.js";

const capitalised = (text) => text.charAt(0).toUpperCase() + text.slice(1);
const DOT_TITLES = { online: "Online", away: "Away", unknown: capitalised(UNKNOWN_TEXT) };

/** Show `userId`'s presence on the avatar element `el` (null: a group's avatar, no dot). */
export function paintPresence(el, userId) {
  const status = userId === null || userId === state.meId ? "offline" : presenceOf(state, userId).status;
  el.classList.toggle("presence-online", status === "online");
  el.classList.toggle("presence-away", status === "away");
  el.dataset.presence = status;
  if (DOT_TITLES[status]) el.title = DOT_TITLES[status];
  else el.removeAttribute("title");
}

/** `userId`'s presence in words: "online", "away", "last seen 5 min ago", or "offline". */
export function presenceWords(userId, now = Date.now()) {
  return presenceText(presenceOf(state, userId), now);
}

/** ", online" / ", away" / ", status unknown" to add to a person's accessible name (nothing
 * when offline). */
export function presenceSuffix(userId) {
  const { status } = presenceOf(state, userId);
  if (status === "offline" || userId === state.meId) return "";
  return status === "unknown" ? ", status unknown" : `, ${status}`;
}

/** The conversation header's presence: a DM partner's dot on `avatarEl` and, in `line`,
 * "Online", "Away" or "Last seen 5 min ago"; a group's "3 online" (of its other members). */
export function drawHeaderPresence(line, avatarEl, conversation) {
  let text = "";
  let status = "offline";
  if (conversation?.type === "group") {
    paintPresence(avatarEl, null);
    const online = countOnline(state, conversation.member_ids.filter((id) => id !== state.meId));
    if (state.presenceUnknown) [text, status] = [capitalised(UNKNOWN_TEXT), "unknown"];
    else if (online) [text, status] = [`${online} online`, "online"];
  } else if (conversation) {
    const other = conversation.member_ids.find((id) => id !== state.meId) ?? null;
    paintPresence(avatarEl, other);
    if (other !== null && !state.users.get(other)?.deleted) {
      status = presenceOf(state, other).status;
      text = capitalised(presenceWords(other));
    }
  } else {
    paintPresence(avatarEl, null);
  }
  line.hidden = !text;
  line.dataset.status = status;
  if (line.textContent !== text) line.textContent = text;
}
