// Access tokens in the settings (ours, and each bot's in views/bots.js): a form to make one
// (name, read or read and write, expiry), its secret shown once with a Copy button, and the list
// (name, the secret's first characters, scopes, created, last used, expiry) with Revoke.
//
// One `tokenPanel` per owner, over its requests (clients.js tokenRequests). Nothing here is in
// the store: the list is fetched when the panel is shown and after each change here.
import { EXPIRIES, expiryWords, scopeWords, sortedTokens, tokenBody } from "../clients.js";
import { h, fullTime, renderKeyed } from "../dom.js";
import { reportError, showIn } from "../errors.js";

const NAME_MAX = 64;
let panels = 0; // for unique element ids

/**
 * A box that shows a secret once: `show(secret, words)` fills and reveals it, `hide()` empties
 * it (the secret is kept nowhere else). Copy puts it on the clipboard.
 */
export function secretBox(testId) {
  const value = h("input", { class: "input secret-value", readonly: true, spellcheck: "false", autocomplete: "off", "aria-label": "Secret", testid: `${testId}-value` });
  const note = h("p", { class: "secret-note" });
  const copied = h("span", { class: "settings-status", role: "status", testid: `${testId}-copied` });
  const copy = h("button", { class: "btn btn-sm btn-primary", type: "button", testid: `${testId}-copy`, text: "Copy", onclick: () => copySecret(value, copied) });
  const done = h("button", { class: "btn btn-sm", type: "button", testid: `${testId}-done`, text: "Done", onclick: () => hide() });
  const box = h("div", { class: "secret-box", testid: testId, hidden: true, role: "region", "aria-label": "New secret" }, note, h("div", { class: "secret-row" }, value, copy), h("div", { class: "settings-actions" }, copied, done));
  function show(secret, words) {
    note.textContent = `${words} Copy it now: you won't see it again.`;
    value.value = secret;
    copied.textContent = "";
    box.hidden = false;
    value.focus();
    value.select();
  }
  function hide() {
    value.value = "";
    box.hidden = true;
  }
  return { element: box, show, hide };
}

async function copySecret(input, status) {
  try {
    await navigator.clipboard.writeText(input.value);
  } catch {
    // No clipboard API (a page served over plain http): the selection and the old command.
    input.select();
    if (!document.execCommand("copy")) {
      status.textContent = "Select it and copy it yourself.";
      return;
    }
  }
  status.textContent = "Copied.";
}

/**
 * A panel of tokens over `requests` ({list, create, revoke}); `owner` names whose they are in
 * the words ("your", or a bot's name). Returns `{element, refresh(), reset()}`.
 */
export function tokenPanel(requests, { testId, owner = () => "your" }) {
  const n = ++panels;
  const id = (part) => `tokens-${n}-${part}`;
  let tokens = [];

  const name = h("input", { class: "input", id: id("name"), name: "token_name", maxlength: NAME_MAX, required: true, autocomplete: "off", placeholder: "What it's for: a backup script", testid: "token-name" });
  const read = h("input", { type: "radio", name: id("scope"), value: "read", checked: true, testid: "token-scope-read" });
  const write = h("input", { type: "radio", name: id("scope"), value: "write", testid: "token-scope-write" });
  const expiry = h("select", { class: "input", id: id("expiry"), testid: "token-expiry" }, EXPIRIES.map(([days, label]) => h("option", { value: days ?? "", text: label })));
  const create = h("button", { class: "btn btn-primary", type: "submit", testid: "token-create", text: "Create token" });
  const error = h("p", { class: "form-error", role: "alert", testid: "token-error", hidden: true });
  const secret = secretBox("token-secret");
  const list = h("ul", { class: "token-list", testid: "token-list" });
  const empty = h("p", { class: "settings-permission", testid: "token-empty", text: "No tokens yet.", hidden: true });
  const form = h(
    "form",
    { class: "settings-form token-form", testid: "token-form", novalidate: true, onsubmit: submit },
    h("div", { class: "field" }, h("label", { for: name.id, text: "Token name" }), name),
    h("fieldset", { class: "token-scopes" }, h("legend", { text: "Access" }), h("label", { class: "settings-toggle" }, read, h("span", { text: "Read: conversations, messages, live events" })), h("label", { class: "settings-toggle" }, write, h("span", { text: "Read and write: also send, edit, react, …" }))),
    h("div", { class: "field" }, h("label", { for: expiry.id, text: "Expires after" }), expiry),
    error,
    h("div", { class: "settings-actions" }, create),
  );
  const element = h("div", { class: "token-panel", testid: testId }, form, secret.element, list, empty);

  async function submit(event) {
    event.preventDefault();
    if (!name.value.trim()) {
      showIn(error, "Give the token a name, to know it by later.");
      name.focus();
      return;
    }
    showIn(error, null);
    create.disabled = true;
    try {
      const made = await requests.create(tokenBody({ name: name.value, scope: write.checked ? "write" : "read", expiry: expiry.value }));
      form.reset();
      tokens = [made.token, ...tokens.filter((t) => t.id !== made.token.id)];
      draw();
      secret.show(made.secret, `The token “${made.token.name}” (${scopeWords(made.token.scopes).toLowerCase()}).`);
    } catch (failure) {
      reportError("Couldn't create the token", failure, error);
    } finally {
      create.disabled = false;
    }
  }

  async function revoke(button, token) {
    if (!confirm(`Revoke ${owner()} token “${token.name}”? Anything using it is refused from now on.`)) return;
    button.disabled = true;
    showIn(error, null);
    try {
      await requests.revoke(token.id);
      tokens = tokens.filter((t) => t.id !== token.id);
      draw();
    } catch (failure) {
      button.disabled = false;
      reportError("Couldn't revoke the token", failure, error);
    }
  }

  function draw() {
    empty.hidden = tokens.length > 0;
    renderKeyed(
      list,
      sortedTokens(tokens),
      (t) => t.id,
      (t) =>
        h(
          "li",
          { class: "token", testid: "token", dataset: { tokenId: String(t.id) } },
          h("div", { class: "token-head" }, h("strong", { testid: "token-label" }), h("code", { class: "token-hint", testid: "token-hint" }), h("span", { class: "role-badge", testid: "token-scopes" })),
          h("small", { class: "token-dates", testid: "token-dates" }),
          h("button", { class: "btn btn-sm btn-danger", type: "button", testid: "token-revoke", text: "Revoke", "aria-label": `Revoke ${t.name}`, onclick: (e) => revoke(e.currentTarget, t) }),
        ),
      (li, t) => {
        li.querySelector("strong").textContent = t.name;
        li.querySelector("code").textContent = `${t.hint}…`;
        li.querySelector(".role-badge").textContent = scopeWords(t.scopes);
        const used = t.last_used_at ? `last used ${fullTime(t.last_used_at)}` : "never used";
        li.querySelector(".token-dates").textContent = `Created ${fullTime(t.created_at)} · ${used} · ${expiryWords(t.expires_at).toLowerCase()}`;
      },
    );
  }

  /** Fetch the list again (the panel is shown, or its owner changed). */
  async function refresh() {
    showIn(error, null);
    try {
      tokens = await requests.list();
      draw();
    } catch (failure) {
      reportError("Couldn't load the tokens", failure, error);
    }
  }

  /** Forget a shown secret and what was typed (the settings are opened again). */
  function reset() {
    form.reset();
    secret.hide();
    showIn(error, null);
  }

  return { element, refresh, reset };
}
