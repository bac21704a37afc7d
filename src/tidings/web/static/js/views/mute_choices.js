// The ways to mute a conversation, offered in two places: the open conversation's header
// (views/conversation_controls.js) and each sidebar entry's menu (views/sidebar.js). Both call
// the same action, so the answer and our `muted` event (in every tab) update the same way.
import { muteConversation } from "../actions.js";

const HOUR_MS = 3600000;

/** Each choice: its menu label, its test id, and for how long (`ms`; null: until unmuted). */
export const MUTE_CHOICES = [
  { label: "Mute for 1 hour", testId: "mute-1h", ms: HOUR_MS },
  { label: "Mute for 8 hours", testId: "mute-8h", ms: 8 * HOUR_MS },
  { label: "Mute for 1 week", testId: "mute-1w", ms: 7 * 24 * HOUR_MS },
  { label: "Until I unmute", testId: "mute-forever", ms: null },
];

/** Mute conversation `id` as `choice` (one of MUTE_CHOICES) says, counted from now. */
export function muteFor(id, choice) {
  return muteConversation(id, choice.ms === null ? null : new Date(Date.now() + choice.ms));
}
