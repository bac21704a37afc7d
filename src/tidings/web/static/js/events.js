// The event-dispatch table (as zulip's `server_events_dispatch.js`): what each stream event does
// to the store. Registered once at startup (app.js), so the store is current whatever screen is
// open; views watch the store, never the stream.
//
// A durable event (realtime.js's EVENT_TYPES) goes to one reducer, `(state, data) => topics`.
// An ephemeral one (EPHEMERAL_EVENT_TYPES: typing, presence, read receipts; never replayed) goes
// to its reducer in EPHEMERAL_REDUCERS, `(state, data, now) => topics`, kept apart so that a
// replay (tests/js/replay.mjs) never meets one; a `message` also ends its sender's typing and
// moves their read receipt to it.
// The control events say how the stream itself is: its status and this tab's role (kept in the
// store for the connection indicator), that the session ended, or that the page must fetch its
// snapshot again (`resync`: what it missed is gone from the server's log).

import { loadSnapshot } from "./loaders.js";
import { EPHEMERAL_EVENT_TYPES, EVENT_TYPES } from "./realtime.js";
import { update } from "./store.js";
import { setConnection } from "./store/connection.js";
import {
  receiveConversationUpdate,
  receiveMessage,
  receiveMessageDeleted,
  receiveMessageReactions,
  receiveMessageUpdated,
} from "./store/conversations.js";
import { applyFriendUpdate, receiveFriendRequest } from "./store/friends.js";
import { receiveNotification, receiveNotificationsRead } from "./store/notifications.js";
import { receivePresence } from "./store/presence.js";
import { receiveReadReceipt, senderHasRead } from "./store/receipts.js";
import { receiveTyping, stopTypingOnMessage } from "./store/typing.js";
import { receiveBlockUpdate, receiveSettingsUpdated } from "./store/settings.js";
import { receiveUserUpdated } from "./store/users.js";

export const EVENT_REDUCERS = {
  message: receiveMessage,
  message_updated: receiveMessageUpdated,
  message_deleted: receiveMessageDeleted,
  message_reactions: receiveMessageReactions,
  conversation_update: receiveConversationUpdate,
  notification: receiveNotification,
  notification_read: receiveNotificationsRead,
  friend_request: receiveFriendRequest,
  friend_update: applyFriendUpdate,
  user_updated: receiveUserUpdated,
  settings_updated: receiveSettingsUpdated,
  block_update: receiveBlockUpdate,
};

export const EPHEMERAL_REDUCERS = {
  typing: receiveTyping,
  read_receipt: receiveReadReceipt,
  presence: receivePresence,
};

/** Send every event `realtime` delivers where it belongs. */
export function registerEvents(realtime) {
  for (const type of EVENT_TYPES) {
    const reducer = EVENT_REDUCERS[type];
    realtime.on(type, (data) => update(reducer, data));
  }
  for (const type of EPHEMERAL_EVENT_TYPES) {
    const reducer = EPHEMERAL_REDUCERS[type];
    realtime.on(type, (data) => update(reducer, data, Date.now()));
  }
  realtime.on("message", (data) => update(stopTypingOnMessage, data));
  realtime.on("message", (data) => update(senderHasRead, data));
  realtime.on("status", (status) => update(setConnection, { status }));
  realtime.on("role", (role) => update(setConnection, { role }));
  realtime.on("signout", () => location.assign("/login"));
  realtime.on("resync", () => loadSnapshot(realtime));
}
