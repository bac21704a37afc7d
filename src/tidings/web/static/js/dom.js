// Building DOM from data. User content only ever goes in as text (text nodes and textContent);
// there is no innerHTML anywhere in the client. Lists are drawn one way, `renderKeyed`: an
// element per item key, made once and updated in place.

/** `h("button", {class: "btn", onclick}, "Label", child)` */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "testid") el.dataset.testid = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

const keyedElements = new WeakMap(); // container -> Map<key, element>

/**
 * Make `container`'s children one element per item, in order. An item whose key was drawn
 * before keeps its element, `update(el, item)` brings it up to date; a new key gets
 * `create(item)` (then `update`); elements of keys no longer there are removed. Only elements
 * out of place move, with `moveBefore` where the browser has it (it keeps focus), else
 * `insertBefore`, after which focus is given back to the element that had it.
 */
export function renderKeyed(container, items, key, create, update) {
  const before = keyedElements.get(container) ?? new Map();
  const after = new Map();
  for (const item of items) {
    const k = key(item);
    if (after.has(k)) continue; // a key is drawn once
    const el = before.get(k) ?? create(item);
    update?.(el, item);
    after.set(k, el);
  }
  for (const [k, el] of before) if (!after.has(k)) el.remove();
  const focused = container.contains(document.activeElement) ? document.activeElement : null;
  let at = container.firstElementChild;
  for (const el of after.values()) {
    if (el === at) at = at.nextElementSibling;
    else move(container, el, at);
  }
  keyedElements.set(container, after);
  if (focused?.isConnected && document.activeElement !== focused) focused.focus({ preventScroll: true });
}

function move(container, el, before) {
  if (container.moveBefore && el.parentNode === container) {
    try {
      container.moveBefore(el, before);
      return;
    } catch {
      // Not movable here (the spec's conditions): a plain insert does.
    }
  }
  container.insertBefore(el, before);
}

const SVG = "http://www.w3.org/2000/svg";

/** A decorative icon (hidden from assistive technology: its button or label says it in words):
 * one 24x24 SVG path in the current text colour, `size` pixels square or sized by `className`. */
export function svgIcon(path, { size, className } = {}) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  if (size) {
    svg.setAttribute("width", String(size));
    svg.setAttribute("height", String(size));
  }
  if (className) svg.setAttribute("class", className);
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS(SVG, "path");
  shape.setAttribute("fill", "currentColor");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

export function testid(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** Show `text` in a badge element, hiding it at zero. */
export function setBadge(el, count, max = 99) {
  el.hidden = !count;
  el.textContent = count ? (count > max ? `${max}+` : String(count)) : "";
}

// Avatars: the person's picture (`avatar_url`), else initials on one of eight colours picked by
// id (classes, since the CSP forbids inline styles); a deleted account shows a neutral "?". An
// avatar already showing the same is left alone (lists repaint often). views/avatar.js makes new
// ones (`avatarNode`).
const painted = new WeakMap(); // avatar element -> "colour class|initials|picture" it shows

/** Paint `el` (a `.avatar`) for `user` (`{id, display_name, username, avatar_url, deleted}`;
 * a group passes `{id, avatar_url}` and its name as `label`). */
export function paintAvatar(el, user, label) {
  const deleted = Boolean(user?.deleted);
  const colour = deleted ? "av-deleted" : `av-${(user?.id ?? 0) % 8}`;
  const text = deleted ? "?" : initials(label ?? user?.display_name ?? user?.username ?? "?");
  const url = deleted ? null : (user?.avatar_url ?? null);
  const key = `${colour}|${text}|${url ?? ""}`;
  if (painted.get(el) === key) return;
  painted.set(el, key);
  for (const cls of [...el.classList]) if (cls.startsWith("av-") && cls !== colour) el.classList.remove(cls);
  el.classList.add(colour);
  el.classList.toggle("has-picture", Boolean(url));
  if (url) {
    // The picture is decoration beside a name, as the initials are (alt="").
    const img = el.querySelector(":scope > img") ?? document.createElement("img");
    img.alt = "";
    img.decoding = "async";
    img.draggable = false;
    if (img.getAttribute("src") !== url) img.src = url;
    if (el.firstChild !== img || el.childNodes.length !== 1) el.replaceChildren(img);
  } else if (el.textContent !== text || el.firstElementChild?.tagName !== "SPAN") {
    // Initials are decoration too: hidden from screen readers even where the avatar is a button
    // (a DM's header avatar, named after the person), so its name need not contain them.
    el.replaceChildren(h("span", { "aria-hidden": "true", text }));
  }
}

const graphemeSegmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });
/** The user-perceived characters of `text` (an emoji, a letter with its accent: one each). */
const graphemes = (text) => Array.from(graphemeSegmenter.segment(text), (s) => s.segment);

export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [graphemes(words[0])[0], graphemes(words[words.length - 1])[0]] : graphemes(name.trim()).slice(0, 2);
  return letters.join("").toUpperCase();
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const longFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const dayHeading = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

/** Sidebar and notification times: "14:05", "Mon", "12 Mar". */
export function shortTime(iso) {
  const date = new Date(iso);
  const days = Math.round((startOfDay(new Date()) - startOfDay(date)) / 86400000);
  if (days <= 0) return timeFormat.format(date);
  if (days < 7) return dayFormat.format(date);
  return dateFormat.format(date);
}

export const clockTime = (iso) => timeFormat.format(new Date(iso));
export const fullTime = (iso) => longFormat.format(new Date(iso));

/** "Today", "Yesterday", or "Monday 12 March". */
export function dayLabel(iso) {
  const days = Math.round((startOfDay(new Date()) - startOfDay(new Date(iso))) / 86400000);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  return dayHeading.format(new Date(iso));
}

export const dayKey = (iso) => startOfDay(new Date(iso));
