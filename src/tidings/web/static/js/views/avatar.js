// Avatars for any view: `avatarNode(user, size)` makes one (the picture, else initials on a
// colour derived from the id; a deleted account's neutral "?"), painted by dom.js's
// `paintAvatar`, which also repaints avatars in place when the "users" topic changes. A view
// that keeps the element repaints it with `paintAvatar(el, userById(state, id))`.
//
// Sizes: "sm" 32 px, "md" 44 px (the default), "lg" 96 px (the profile card, settings).
import { h, paintAvatar } from "../dom.js";

const SIZE_CLASS = { sm: "avatar avatar-sm", md: "avatar", lg: "avatar avatar-lg" };

/** A new avatar element for `user` (a group: `{id, avatar_url}` with its name as `label`). */
export function avatarNode(user, size = "md", { label, group = false } = {}) {
  const el = h("span", { class: `${SIZE_CLASS[size] ?? SIZE_CLASS.md}${group ? " avatar-group" : ""}`, "aria-hidden": "true" });
  paintAvatar(el, user, label);
  return el;
}

/** What a group's avatar is painted from: its picture, else its name's initials by its id. */
export function groupAvatarUser(conversation) {
  return { id: conversation.id, avatar_url: conversation.avatar_url ?? null };
}
