// The keyboard of a menu opened by a button (WAI-ARIA's menu button pattern), shared by the open
// conversation's mute menu (views/conversation_controls.js) and the sidebar entries' menus
// (views/sidebar.js). The items are out of the Tab order (tabindex -1): the arrows, Home and End
// move between them, Escape closes the menu and gives the focus back to its button, and Tab or
// Shift+Tab closes it and goes on from the button, as if the menu had not been there. Escape on
// the button, the menu open, closes it too.

/** A menu item: a button out of the Tab order (`props` as for h's). */
export function menuItemProps(props) {
  return { type: "button", role: "menuitem", tabindex: "-1", ...props };
}

/** The items of `menu`, in order. */
export function menuItems(menu) {
  return [...menu.querySelectorAll("[role=menuitem]")];
}

/** Give the keys their menu meaning in `menu`, opened by `button`; `close()` closes the menu
 * (without moving the focus). */
export function menuKeys(menu, button, close) {
  menu.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // closes this menu only, not a panel behind it
      button.focus({ preventScroll: true });
      close();
      return;
    }
    if (event.key === "Tab") {
      // Not prevented: the browser's Tab then goes on from the button, which has the focus.
      button.focus({ preventScroll: true });
      close();
      return;
    }
    const items = menuItems(menu);
    const at = items.indexOf(document.activeElement);
    const next = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[event.key];
    if (next === undefined || !items.length) return;
    event.preventDefault();
    items[(next + items.length) % items.length].focus();
  });
}

/** Escape on `button` closes its menu when `isOpen()`. */
export function menuButtonKeys(button, isOpen, close) {
  button.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !isOpen()) return;
    event.preventDefault();
    event.stopPropagation();
    close();
  });
}
