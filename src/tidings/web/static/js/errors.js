// One way to tell the user that something failed. `reportError(what, error, place)` logs the
// error, then shows what failed and why: in `place` when the failure has one of its own (a form's
// error line, or a callback such as a message's "Not sent: … Retry"), else as a toast in the
// page's error region (app.html, `data-testid="error-toasts"`, an aria-live region). A 401 means
// the session ended: the page goes to sign in instead. Script errors and promise rejections that
// nobody handled come here too (`installErrorReporting`), and still reach the console.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

const TOAST_MS = 8000;
const MAX_TOASTS = 3;
const timers = new WeakMap();

/** Why an action failed, in words for the user. */
export function reasonOf(error) {
  if (error instanceof ApiError) return error.message;
  return "Something went wrong (details in the browser's console)";
}

/**
 * Report that `what` (e.g. "Couldn't add a friend") failed with `error`; returns the reason shown.
 * @param {HTMLElement | ((reason: string) => void)} [place]  where this failure shows, if not a toast
 */
export function reportError(what, error, place) {
  // An answer from the server says all there is; anything else is a bug, for the console.
  if (!(error instanceof ApiError)) console.error(what, error);
  return show(what, error, place);
}

function show(what, error, place) {
  const reason = reasonOf(error);
  if (error?.status === 401) {
    location.assign("/login");
    return reason;
  }
  if (typeof place === "function") place(reason);
  else if (place) showIn(place, reason);
  else toast(error instanceof ApiError ? `${what}: ${reason}` : `${what} (details in the browser's console)`);
  return reason;
}

/** Run `action()`; if it fails, report it (see `reportError`) and resolve to undefined. */
export async function attempt(what, action, place) {
  try {
    return await action();
  } catch (error) {
    reportError(what, error, place);
    return undefined;
  }
}

/** Show (or, with null, hide) a form's own error line. */
export function showIn(el, text) {
  el.hidden = !text;
  el.textContent = text ?? "";
}

/** Show `text` as a toast (also for a failure that is not an exception). */
export function toast(text) {
  const region = document.querySelector("[data-testid=error-toasts]");
  if (!region) return;
  // The same failure again (a retry that failed too) refreshes its toast instead of stacking.
  let item = [...region.children].find((el) => el.dataset.text === text);
  if (!item) {
    item = h(
      "li",
      { class: "toast", testid: "error-toast", dataset: { text } },
      h("span", { class: "toast-text", text }),
      h("button", { class: "icon-btn toast-close", type: "button", "aria-label": "Dismiss", title: "Dismiss", onclick: () => item.remove() }, "×"),
    );
  }
  region.append(item);
  clearTimeout(timers.get(item));
  timers.set(item, setTimeout(() => item.remove(), TOAST_MS));
  while (region.children.length > MAX_TOASTS) region.firstElementChild.remove();
}

/** Route script errors and unhandled promise rejections to the toasts. */
export function installErrorReporting() {
  // Not prevented: the browser still logs them (and the browser tests still see them).
  window.addEventListener("error", (event) => show("Something went wrong", event.error));
  window.addEventListener("unhandledrejection", (event) => show("Something went wrong", event.reason));
}
