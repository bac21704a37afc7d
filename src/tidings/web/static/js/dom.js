// Building DOM from data. User content only ever goes in as text (text nodes and textContent);
// there is no innerHTML anywhere in the client.

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

/** Replace an element's children. */
export function setChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function testid(id, root = document) {
  return root.querySelector(`[data-testid="${id}"]`);
}

/** Show `text` in a badge element, hiding it at zero. */
export function setBadge(el, count, max = 99) {
  el.hidden = !count;
  el.textContent = count ? (count > max ? `${max}+` : String(count)) : "";
}

// Avatars: initials on one of eight colours picked by user id (classes, since the CSP forbids
// inline styles).
export function avatar(user, extra = "") {
  const el = h("span", { class: `avatar ${extra}`.trim(), "aria-hidden": "true" });
  paintAvatar(el, user);
  return el;
}

export function paintAvatar(el, user, label) {
  for (const cls of [...el.classList]) if (cls.startsWith("av-")) el.classList.remove(cls);
  el.classList.add(`av-${(user?.id ?? 0) % 8}`);
  el.textContent = initials(label ?? user?.display_name ?? user?.username ?? "?");
}

export function initials(name) {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? words[0][0] + words[words.length - 1][0] : name.slice(0, 2);
  return [...letters].slice(0, 2).join("").toUpperCase();
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
