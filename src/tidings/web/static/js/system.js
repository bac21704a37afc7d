// A group's system lines in words: "Alice added Bob", "Carol left", "You renamed the group to
// “Book club”". A line keeps its people by id (store/messages.js) and is put in words where it is
// drawn (the timeline, the sidebar's preview), from the users map: a renamed person shows by their
// new name in every line. We are "You" (or "you"), as the rest of the client calls us.

import { userById } from "./store/users.js";

const ROLE_WORDS = { owner: "an owner", admin: "an admin", member: "a regular member" };

/** A system line record (`{action, actor_id, target_id, name, role, members_can_add, removed}`) in words. */
export function systemText(state, system) {
  const actor = nameOf(state, system.actor_id, "You");
  const target = nameOf(state, system.target_id, "you");
  switch (system.action) {
    case "created":
      return system.name ? `${actor} created the group “${system.name}”` : `${actor} created the group`;
    case "added":
      return `${actor} added ${target}`;
    case "removed":
      return `${actor} removed ${target}`;
    case "left":
      return `${actor} left`;
    case "renamed":
      return `${actor} renamed the group to “${system.name ?? ""}”`;
    case "role_changed":
      return `${actor} made ${target} ${ROLE_WORDS[system.role] ?? system.role}`;
    case "ownership_transferred":
      return `${actor} made ${target} the owner`;
    case "description_changed":
      return `${actor} changed the group's description`;
    case "avatar_changed":
      return system.removed ? `${actor} removed the group's picture` : `${actor} changed the group's picture`;
    case "settings_changed":
      return system.members_can_add ? `${actor} let every member add people` : `${actor} let only admins add people`;
    case "deleted":
      return `${actor} deleted the group`;
    default:
      return `${actor} changed the group`;
  }
}

function nameOf(state, id, self) {
  if (id === null || id === undefined) return "Someone";
  return id === state.meId ? self : userById(state, id).display_name;
}
