// Clients beyond the browser, as the settings show them: access tokens (ours and our bots'),
// bots, and a bot's webhook. The requests (each rejects with an ApiError, reported by the view
// that asked) and the words for what they answer (pure: no DOM, the clock passed in).
//
// None of it is in the store: no event tells of a token, a bot's token or a delivery, so the
// settings fetch them when they open. A bot is a person too: the bot itself goes in the users
// map, and our new friendship with it arrives as any friendship does.

import { api, ApiError } from "./api.js";
import { update } from "./store.js";
import { putUsers } from "./store/users.js";

const DAY_MS = 86400000;

// Tokens ----------------------------------------------------------------------------------------

/** Expiry choices: days, or null for "never". */
export const EXPIRIES = [
  [null, "Never"],
  [30, "30 days"],
  [90, "90 days"],
  [365, "365 days"],
];

/** A token's requests at `base` (`/api/tokens`, ours; `/api/bots/{id}/tokens`, a bot's). */
export function tokenRequests(base) {
  return {
    list: async () => (await api("GET", base)).tokens,
    /** Resolves to `{token, secret}`: the secret, this once. */
    create: (body) => api("POST", base, body),
    revoke: (tokenId) => api("DELETE", `${base}/${tokenId}`),
  };
}

/** The TokenCreate body for a form's `{name, scope: "read" | "write", expiry: "" | "30" ...}`. */
export function tokenBody({ name, scope, expiry }) {
  const days = expiry ? Number(expiry) : null;
  return { name: name.trim(), scopes: scope === "write" ? ["read", "write"] : ["read"], expires_in_days: days };
}

/** "Read and write" or "Read only". */
export function scopeWords(scopes) {
  return scopes.includes("write") ? "Read and write" : "Read only";
}

/** "Never expires", "Expires in 3 days", "Expires today", "Expired". */
export function expiryWords(expiresAt, now = Date.now()) {
  if (!expiresAt) return "Never expires";
  const left = Date.parse(expiresAt) - now;
  if (left <= 0) return "Expired";
  const days = Math.floor(left / DAY_MS);
  if (days === 0) return "Expires today";
  return `Expires in ${days} day${days === 1 ? "" : "s"}`;
}

/** Tokens in the order the list shows them: newest first. */
export function sortedTokens(tokens) {
  return [...tokens].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id);
}

// Bots ------------------------------------------------------------------------------------------

/** Our bots (`BotView`s: `{user, owner_id, created_at}`), their users put in the store. */
export async function listBots() {
  const { bots } = await api("GET", "/api/bots");
  update(putUsers, bots.map((b) => b.user));
  return bots;
}

/** Make a bot (`display_name` may be empty: the server uses the username). */
export async function createBot(username, displayName) {
  const body = { username: username.trim() };
  if (displayName.trim()) body.display_name = displayName.trim();
  const { bot } = await api("POST", "/api/bots", body);
  update(putUsers, [bot.user]);
  return bot;
}

export function deleteBot(botId) {
  return api("DELETE", `/api/bots/${botId}`);
}

/** Bots in the order the list shows them: by name. */
export function sortedBots(bots) {
  return [...bots].sort((a, b) => a.user.display_name.localeCompare(b.user.display_name) || a.user.id - b.user.id);
}

// Webhooks --------------------------------------------------------------------------------------

/** A bot's webhook, or null when it has none. */
export async function loadWebhook(botId) {
  try {
    const { webhook } = await api("GET", `/api/bots/${botId}/webhook`);
    return webhook ?? null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code !== "unknown_bot") return null;
    throw error;
  }
}

/** Set (or change) the URL; resolves to `{webhook, secret}`: a new secret, shown this once. */
export function saveWebhook(botId, url) {
  return api("PUT", `/api/bots/${botId}/webhook`, { url: url.trim() });
}

export function removeWebhook(botId) {
  return api("DELETE", `/api/bots/${botId}/webhook`);
}

/** The delivery log, newest first. */
export async function loadDeliveries(botId) {
  return (await api("GET", `/api/bots/${botId}/webhook/deliveries`)).deliveries;
}

/** How the webhook is doing, in words: "Delivering", or its failures and when it tries next. */
export function webhookStatus(webhook, now = Date.now(), when = (iso) => iso) {
  const failures = webhook.failures ?? 0;
  if (!failures) return "Delivering: no failures.";
  const next = webhook.next_attempt_at;
  const retry = next && Date.parse(next) > now ? `next attempt ${when(next)}` : "next attempt soon";
  return `${failures} failed attempt${failures === 1 ? "" : "s"} in a row; ${retry}.`;
}

/** One delivery's outcome: "200 in 12 ms", "Failed: 500 in 3 ms", "Failed: timed out". */
export function deliveryOutcome(delivery) {
  const parts = [];
  if (delivery.status_code != null) parts.push(String(delivery.status_code));
  if (delivery.duration_ms != null) parts.push(`in ${Math.round(delivery.duration_ms)} ms`);
  const said = parts.join(" ");
  if (delivery.succeeded) return said || "Delivered";
  const error = delivery.error ? (said ? `${said}: ${delivery.error}` : delivery.error) : said;
  return `Failed${error ? `: ${error}` : ""}`;
}
