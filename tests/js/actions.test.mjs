// The actions' requests, against a stand-in `fetch` that fails: what a failed write leaves.
import assert from "node:assert/strict";
import { test } from "node:test";

import { readNotification } from "../../src/tidings/web/static/js/actions.js";
import { ApiError } from "../../src/tidings/web/static/js/api.js";
import { state, update } from "../../src/tidings/web/static/js/store.js";
import { receiveNotification } from "../../src/tidings/web/static/js/store/notifications.js";
import { applySnapshot } from "../../src/tidings/web/static/js/store/snapshot.js";
import { alice, carol, snapshot } from "./fixtures.mjs";

test("a notification marked read whose request fails shows unread again, and the action rejects", async () => {
  globalThis.fetch = async () => ({ ok: false, status: 503, text: async () => JSON.stringify({ detail: "Busy" }) });
  update(applySnapshot, snapshot(alice));
  const notification = {
    id: 1,
    type: "friend_request",
    actor: carol,
    conversation_id: null,
    message_id: null,
    friend_request_id: 5,
    read: false,
    created_at: "2026-03-02T10:00:00Z",
  };
  update(receiveNotification, { notification, unread_count: 1 });
  const reading = readNotification(1);
  assert.equal(state.notifications.get(1).read, true); // at once
  await assert.rejects(reading, (error) => error instanceof ApiError && error.status === 503);
  assert.equal(state.notifications.get(1).read, false);
  assert.equal(state.unreadCount, 1);
});
