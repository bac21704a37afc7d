// Keeping the focus inside a modal dialog. A modal <dialog> already makes the rest of the page
// inert; this also wraps Tab around its ends instead of leaving for the browser's own controls.

const FOCUSABLE = "a[href], button:not(:disabled), input:not(:disabled):not([type=hidden]), select:not(:disabled), textarea:not(:disabled), [tabindex]:not([tabindex='-1'])";

/** The elements of `root` that Tab visits, in order (hidden ones left out). */
export function focusables(root) {
  return [...root.querySelectorAll(FOCUSABLE)].filter((el) => !el.closest("[hidden]") && el.getClientRects().length > 0);
}

/** Make Tab and Shift+Tab cycle within `dialog`. */
export function trapFocus(dialog) {
  dialog.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const items = focusables(dialog);
    if (!items.length) return;
    const first = items[0];
    const last = items[items.length - 1];
    if (event.shiftKey && (document.activeElement === first || !dialog.contains(document.activeElement))) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
}

/** Give the focus back to `opener` as `dialog` closes (on its "close" event, which comes a task
 * after the dialog closed): unless the focus has gone somewhere meanwhile (a click or a test
 * typing into the composer), which it must not be taken from. */
export function giveFocusBack(dialog, opener) {
  const focus = document.activeElement;
  const lost = !focus || focus === document.body || dialog.contains(focus);
  if (lost && opener?.isConnected) opener.focus({ preventScroll: true });
}
