// Bots in the settings: make one (username, display name), the list of ours, and per bot (in a
// disclosure, fetched when opened) its tokens (views/tokens.js) and its webhook: the URL, Save
// (a new secret, shown once), how delivery goes (failures, next attempt, last delivery), the
// delivery log as a small table, and Remove. Deleting a bot asks first.
//
// A bot is a person: the store keeps its user (the badge, views/badge.js), and it is our friend
// from the start, so it can be added to groups like any friend.
import { createBot, deleteBot, deliveryOutcome, listBots, loadDeliveries, loadWebhook, removeWebhook, saveWebhook, sortedBots, tokenRequests, webhookStatus } from "../clients.js";
import { fullTime, h, paintAvatar, renderKeyed } from "../dom.js";
import { reportError, showIn } from "../errors.js";
import { state, watch } from "../store.js";
import { userById } from "../store/users.js";
import { showName } from "./badge.js";
import { secretBox, tokenPanel } from "./tokens.js";

const USERNAME_MAX = 32;
const NAME_MAX = 64;
const DELIVERIES_SHOWN = 20;

let el = null;
let bots = [];
const details = new Map(); // bot id -> its tokens and webhook parts (made when first opened)

/** The "Bots" section; `refresh()` fetches our bots again (the settings are opened). */
export function botsSection() {
  el = {};
  el.username = h("input", { class: "input", id: "bot-username", name: "bot_username", maxlength: USERNAME_MAX, required: true, autocomplete: "off", spellcheck: "false", testid: "bot-username" });
  el.name = h("input", { class: "input", id: "bot-display-name", name: "bot_display_name", maxlength: NAME_MAX, autocomplete: "off", testid: "bot-display-name" });
  el.create = h("button", { class: "btn btn-primary", type: "submit", testid: "bot-create", text: "Create bot" });
  el.error = h("p", { class: "form-error", role: "alert", testid: "bot-error", hidden: true });
  el.form = h(
    "form",
    { class: "settings-form", testid: "bot-form", novalidate: true, onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: el.username.id, text: "Bot username" }), el.username),
    h("div", { class: "field" }, h("label", { for: el.name.id, text: "Name people see" }), el.name),
    el.error,
    h("div", { class: "settings-actions" }, el.create),
  );
  el.list = h("ul", { class: "bot-list", testid: "bot-list" });
  el.empty = h("p", { class: "settings-permission", testid: "bot-empty", text: "You have no bots.", hidden: true });
  watch("users", () => el.list.isConnected && draw());
  const section = h(
    "section",
    { class: "settings-section", "aria-labelledby": "settings-bots-title", testid: "settings-bots" },
    h("h3", { id: "settings-bots-title", text: "Bots" }),
    h("p", { class: "settings-permission", text: "A bot is an account you own that signs in only with its tokens. It is your friend: add it to a group, or message it." }),
    el.form,
    el.list,
    el.empty,
  );
  return { element: section, refresh, reset };
}

function reset() {
  el.form.reset();
  showIn(el.error, null);
  for (const part of details.values()) part.reset();
}

async function refresh() {
  showIn(el.error, null);
  try {
    bots = await listBots();
    draw();
    // A bot left open shows its tokens and webhook as they are now.
    for (const opened of el.list.querySelectorAll("details[open]")) details.get(Number(opened.closest("[data-bot-id]").dataset.botId))?.refresh();
  } catch (failure) {
    reportError("Couldn't load your bots", failure, el.error);
  }
}

async function submit(event) {
  event.preventDefault();
  if (!el.username.value.trim()) {
    showIn(el.error, "Give the bot a username.");
    el.username.focus();
    return;
  }
  showIn(el.error, null);
  el.create.disabled = true;
  try {
    const bot = await createBot(el.username.value, el.name.value);
    el.form.reset();
    bots = [...bots.filter((b) => b.user.id !== bot.user.id), bot];
    draw();
    const li = el.list.querySelector(`[data-bot-id="${bot.user.id}"]`);
    li?.querySelector("details")?.setAttribute("open", "");
    li?.querySelector("summary")?.focus();
  } catch (failure) {
    reportError("Couldn't create the bot", failure, el.error);
  } finally {
    el.create.disabled = false;
  }
}

async function remove(button, botId) {
  const bot = userById(state, botId);
  if (!confirm(`Delete the bot ${bot.display_name} (@${bot.username})? Its tokens stop working and its webhook goes; its messages stay, shown as from “Deleted user”.`)) return;
  button.disabled = true;
  showIn(el.error, null);
  try {
    await deleteBot(botId);
    bots = bots.filter((b) => b.user.id !== botId);
    details.delete(botId);
    draw();
  } catch (failure) {
    button.disabled = false;
    reportError("Couldn't delete the bot", failure, el.error);
  }
}

function draw() {
  const shown = sortedBots(bots.map((b) => ({ ...b, user: userById(state, b.user.id) })));
  el.empty.hidden = shown.length > 0;
  renderKeyed(el.list, shown, (b) => b.user.id, botRow, drawBotRow);
}

function botRow(bot) {
  const botId = bot.user.id;
  const more = h("details", { class: "bot-details", ontoggle: (e) => e.currentTarget.open && open(botId, more) }, h("summary", { testid: "bot-manage", text: "Tokens and webhook" }));
  return h(
    "li",
    { class: "bot", testid: "bot", dataset: { botId: String(botId) } },
    h(
      "div",
      { class: "person" },
      h("span", { class: "avatar", "aria-hidden": "true" }),
      h("span", { class: "person-names" }, h("strong", { testid: "bot-name" }), h("small")),
      h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "bot-delete", text: "Delete", onclick: (e) => remove(e.currentTarget, botId) }),
    ),
    more,
  );
}

function drawBotRow(li, bot) {
  const { user } = bot;
  paintAvatar(li.querySelector(".avatar"), user);
  showName(li.querySelector("strong"), user.display_name, user);
  li.querySelector("small").textContent = `@${user.username}`;
  li.querySelector("[data-testid=bot-delete]").setAttribute("aria-label", `Delete the bot ${user.display_name}`);
}

/** The bot's disclosure was opened: make its parts the first time, fetch what they show. */
function open(botId, container) {
  let part = details.get(botId);
  if (!part) {
    part = botDetails(botId);
    details.set(botId, part);
  }
  if (!container.contains(part.element)) container.append(part.element);
  part.refresh();
}

// A bot's tokens and webhook ---------------------------------------------------------------------

function botDetails(botId) {
  const name = () => `${userById(state, botId).display_name}'s`;
  const tokens = tokenPanel(tokenRequests(`/api/bots/${botId}/tokens`), { testId: "bot-tokens", owner: name });
  const hook = webhookPart(botId);
  const element = h("div", { class: "bot-parts" }, h("h4", { text: "Tokens" }), tokens.element, h("h4", { text: "Webhook" }), hook.element);
  return {
    element,
    refresh: () => Promise.all([tokens.refresh(), hook.refresh()]),
    reset: () => (tokens.reset(), hook.reset()),
  };
}

function webhookPart(botId) {
  let webhook = null;
  const id = `bot-${botId}-webhook-url`;
  const url = h("input", { class: "input", id, type: "url", name: "webhook_url", placeholder: "https://example.com/tidings", autocomplete: "off", spellcheck: "false", testid: "webhook-url" });
  const save = h("button", { class: "btn btn-primary", type: "submit", testid: "webhook-save", text: "Save" });
  const removeButton = h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "webhook-remove", text: "Remove webhook", hidden: true, onclick: () => drop() });
  const refreshButton = h("button", { class: "btn btn-sm", type: "button", testid: "webhook-refresh", text: "Refresh", hidden: true, onclick: () => refresh() });
  const error = h("p", { class: "form-error", role: "alert", testid: "webhook-error", hidden: true });
  const status = h("p", { class: "settings-permission", role: "status", testid: "webhook-status" });
  const last = h("p", { class: "settings-permission", testid: "webhook-last" });
  const secret = secretBox("webhook-secret");
  const rows = h("tbody");
  const table = h(
    "table",
    { class: "delivery-log", testid: "webhook-deliveries", hidden: true },
    h("caption", { text: "Latest deliveries" }),
    h("thead", null, h("tr", null, ["When", "Event", "Attempt", "Outcome"].map((t) => h("th", { scope: "col", text: t })))),
    rows,
  );
  const form = h(
    "form",
    { class: "settings-form", testid: "webhook-form", novalidate: true, onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: id, text: "URL to POST events to" }), url, h("small", { text: "Each delivery is signed: Tidings-Signature: v1=HMAC-SHA256(secret, timestamp.body)." })),
    error,
    h("div", { class: "settings-actions" }, status, save),
  );
  const element = h("div", { class: "webhook-part", testid: "bot-webhook" }, form, secret.element, last, h("div", { class: "settings-row" }, refreshButton, removeButton), table);

  function drawHook() {
    removeButton.hidden = !webhook;
    refreshButton.hidden = !webhook;
    if (!webhook) {
      status.textContent = "No webhook: events reach this bot only through its tokens.";
      last.textContent = "";
      table.hidden = true;
      return;
    }
    if (document.activeElement !== url) url.value = webhook.url;
    status.textContent = webhookStatus(webhook, Date.now(), fullTime);
    const lastDelivery = webhook.last_delivery;
    last.textContent = lastDelivery ? `Last delivery ${fullTime(lastDelivery.created_at)}: ${deliveryOutcome(lastDelivery)}` : "";
  }

  function drawDeliveries(deliveries) {
    table.hidden = !webhook || deliveries.length === 0;
    renderKeyed(
      rows,
      deliveries.slice(0, DELIVERIES_SHOWN),
      (d) => d.id ?? `${d.event_pos}:${d.attempt}`,
      () => h("tr", { testid: "webhook-delivery" }, h("td"), h("td"), h("td"), h("td")),
      (tr, d) => {
        const [when, event, attempt, outcome] = tr.children;
        when.textContent = fullTime(d.created_at);
        event.textContent = `${d.event_type} #${d.event_pos}`;
        attempt.textContent = String(d.attempt);
        outcome.textContent = deliveryOutcome(d);
        tr.classList.toggle("failed", !d.succeeded);
      },
    );
  }

  async function refresh() {
    showIn(error, null);
    try {
      webhook = await loadWebhook(botId);
      drawHook();
      drawDeliveries(webhook ? await loadDeliveries(botId) : []);
    } catch (failure) {
      reportError("Couldn't load the webhook", failure, error);
    }
  }

  async function submit(event) {
    event.preventDefault();
    if (!url.value.trim()) {
      showIn(error, "Enter the URL to deliver events to.");
      url.focus();
      return;
    }
    const replacing = Boolean(webhook);
    if (replacing && !confirm("Save this URL? The webhook gets a new secret: the old one stops verifying.")) return;
    showIn(error, null);
    save.disabled = true;
    try {
      const answer = await saveWebhook(botId, url.value);
      webhook = answer.webhook;
      drawHook();
      secret.show(answer.secret, "The webhook's signing secret.");
    } catch (failure) {
      reportError("Couldn't save the webhook", failure, error);
    } finally {
      save.disabled = false;
    }
  }

  async function drop() {
    if (!confirm("Remove the webhook? Events stop being delivered to it.")) return;
    removeButton.disabled = true;
    showIn(error, null);
    try {
      await removeWebhook(botId);
      webhook = null;
      url.value = "";
      secret.hide();
      drawHook();
      drawDeliveries([]);
    } catch (failure) {
      reportError("Couldn't remove the webhook", failure, error);
    } finally {
      removeButton.disabled = false;
    }
  }

  function reset() {
    secret.hide();
    showIn(error, null);
  }

  return { element, refresh, reset };
}
