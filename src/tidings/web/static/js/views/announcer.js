// New messages in the open conversation, said by screen readers: "Bob Marley: see you at 9"
// (alerts.js `announcementFor`). A visually hidden polite live region (app.html) that only this
// module writes: the message list itself is not live, or every page of history that loads (on
// opening, on scrolling back) would be read out whole. Each announcement is a new line in the
// region, so the same words twice are said twice; the last few are kept.
import { announcementFor } from "../alerts.js";
import { h, testid } from "../dom.js";
import { currentRoute } from "../router.js";
import { state } from "../store.js";

const KEPT = 5;

/** Say each message `realtime` brings to the conversation open in this tab (registered after the
 * event-dispatch table, so the store knows its sender). */
export function mountAnnouncer(realtime) {
  const region = testid("message-announcer");
  realtime.on("message", ({ message }) => {
    const route = currentRoute();
    const words = announcementFor(state, message, route.view === "conversation" ? route.id : null);
    if (!words) return;
    region.append(h("p", { text: words }));
    while (region.childElementCount > KEPT) region.firstElementChild.remove();
  });
}
