// The bot badge: "BOT" beside a bot account's name wherever people are shown (a message's
// sender line, the sidebar, members, friends, people found, the profile card, the bell). In
// words, not only a colour, and read out as "bot" (elements are named by their content, so the
// badge is in their names too).
import { h } from "../dom.js";

/** A new badge element. */
export function botBadge() {
  return h("span", { class: "bot-badge", role: "img", "aria-label": "bot", title: "Bot account", testid: "bot-badge", text: "BOT" });
}

/** Make `el` show `name`, followed by the badge when `user` is a bot (left alone when it
 * already does: lists redraw often). */
export function showName(el, name, user) {
  const bot = Boolean(user?.bot);
  const nodes = el.childNodes;
  const same = nodes.length === (bot ? 2 : 1) && nodes[0].nodeType === Node.TEXT_NODE && nodes[0].data === name && (!bot || nodes[1].classList?.contains("bot-badge"));
  if (!same) el.replaceChildren(name, ...(bot ? [botBadge()] : []));
}
