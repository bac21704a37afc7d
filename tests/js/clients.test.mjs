// Tokens, bots and webhooks in the settings (clients.js): the request body a token form makes,
// and the words the lists show. The bot flag in the users map (store/users.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { deliveryOutcome, expiryWords, scopeWords, sortedBots, sortedTokens, tokenBody, webhookStatus } from "../../src/tidings/web/static/js/clients.js";
import { createState } from "../../src/tidings/web/static/js/store/state.js";
import { putUsers, receiveUserUpdated, userById } from "../../src/tidings/web/static/js/store/users.js";
import { bob } from "./fixtures.mjs";

const NOW = Date.parse("2026-03-02T10:00:00Z");
const DAY = 86400000;

test("a token form makes a TokenCreate: write includes read, no expiry is null", () => {
  assert.deepEqual(tokenBody({ name: "  backup ", scope: "read", expiry: "" }), { name: "backup", scopes: ["read"], expires_in_days: null });
  assert.deepEqual(tokenBody({ name: "deploy", scope: "write", expiry: "90" }), { name: "deploy", scopes: ["read", "write"], expires_in_days: 90 });
});

test("scopes and expiry in words", () => {
  assert.equal(scopeWords(["read"]), "Read only");
  assert.equal(scopeWords(["read", "write"]), "Read and write");
  assert.equal(expiryWords(null, NOW), "Never expires");
  assert.equal(expiryWords(new Date(NOW + 30 * DAY).toISOString(), NOW), "Expires in 30 days");
  assert.equal(expiryWords(new Date(NOW + DAY + 1000).toISOString(), NOW), "Expires in 1 day");
  assert.equal(expiryWords(new Date(NOW + 3600000).toISOString(), NOW), "Expires today");
  assert.equal(expiryWords(new Date(NOW - 1000).toISOString(), NOW), "Expired");
});

test("tokens are listed newest first, bots by name", () => {
  const at = (days) => new Date(NOW - days * DAY).toISOString();
  const tokens = [
    { id: 1, created_at: at(3) },
    { id: 3, created_at: at(1) },
    { id: 2, created_at: at(1) },
  ];
  assert.deepEqual(
    sortedTokens(tokens).map((t) => t.id),
    [3, 2, 1],
  );
  const bot = (id, display_name) => ({ user: { id, display_name } });
  assert.deepEqual(
    sortedBots([bot(5, "Reminder"), bot(7, "Alerts"), bot(4, "Alerts")]).map((b) => b.user.id),
    [4, 7, 5],
  );
});

test("a webhook's status and a delivery's outcome in words", () => {
  assert.equal(webhookStatus({ failures: 0 }, NOW), "Delivering: no failures.");
  const later = new Date(NOW + 60000).toISOString();
  assert.equal(webhookStatus({ failures: 3, next_attempt_at: later }, NOW, () => "at 10:01"), "3 failed attempts in a row; next attempt at 10:01.");
  assert.equal(webhookStatus({ failures: 1, next_attempt_at: null }, NOW), "1 failed attempt in a row; next attempt soon.");
  assert.equal(deliveryOutcome({ succeeded: true, status_code: 204, duration_ms: 12.4 }), "204 in 12 ms");
  assert.equal(deliveryOutcome({ succeeded: false, status_code: 500, duration_ms: 3, error: null }), "Failed: 500 in 3 ms");
  assert.equal(deliveryOutcome({ succeeded: false, status_code: null, duration_ms: null, error: "timed out" }), "Failed: timed out");
});

test("the users map keeps whether someone is a bot; a payload without it keeps what it knew", () => {
  const state = createState();
  const helper = { ...bob, id: 9, username: "helper", display_name: "Helper", bot: true };
  assert.deepEqual(putUsers(state, [helper]), ["users"]);
  assert.equal(userById(state, 9).bot, true);
  const { bot: _, ...bare } = helper;
  assert.deepEqual(putUsers(state, [bare]), []);
  assert.equal(userById(state, 9).bot, true);
  putUsers(state, [bob]);
  assert.equal(userById(state, bob.id).bot, false);
  // A deleted bot shows as any deleted account.
  receiveUserUpdated(state, { user: { id: 9, username: "deleted-9", display_name: "Deleted user", avatar_url: null, deleted: true, bot: false } });
  assert.equal(userById(state, 9).bot, false);
});
