// Managing a group, as requests to the server (actions.js's part for groups): its settings and
// picture, its members and their roles, handing it over, leaving and deleting it. An answer that
// is the conversation goes to the store at once (its `conversation_update` follows and changes
// nothing more); the others (204s) leave the change to the event. Each rejects with an ApiError
// when the server refuses (403 `not_admin`, 409 `last_owner`, 415 ...): the members panel shows
// it. Who may do what (`may`) follows the server's rules, so the panel offers only what works.

import { api, ApiError } from "./api.js";
import { update } from "./store.js";
import { applyConversation, roleOf } from "./store/conversations.js";

const base = (id) => `/api/conversations/${id}`;

function apply(conversation) {
  if (conversation?.id !== undefined) update(applyConversation, conversation);
}

/** Change the group's name, description or "members can add people" (fields left out stay). */
export async function updateGroup(id, changes) {
  apply(await api("PATCH", base(id), changes));
}

/** Set the group's picture: the file's bytes as they are (the server crops and resizes it). */
export async function setGroupAvatar(id, file) {
  let response;
  try {
    response = await fetch(`${base(id)}/avatar`, {
      method: "PUT",
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
  } catch {
    throw new ApiError(0, { detail: "Cannot reach the server. Check your connection." });
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  apply(body);
}

export async function removeGroupAvatar(id) {
  apply(await api("DELETE", `${base(id)}/avatar`));
}

export async function addMember(id, userId) {
  apply(await api("POST", `${base(id)}/members`, { user_id: userId }));
}

/** Remove a member (or, our own id, leave the group). */
export async function removeMember(id, userId) {
  await api("DELETE", `${base(id)}/members/${userId}`);
}

export async function setRole(id, userId, role) {
  apply(await api("PUT", `${base(id)}/members/${userId}/role`, { role }));
}

/** Hand the group over: `userId` becomes its owner, we an admin. */
export async function transferOwnership(id, userId) {
  apply(await api("POST", `${base(id)}/transfer`, { user_id: userId }));
}

export async function deleteGroup(id) {
  await api("DELETE", base(id));
}

const RANK = { member: 0, admin: 1, owner: 2 };

/**
 * What we (`meId`) may do in group `conversation`, as the server decides it: edit its settings,
 * add people, delete it, and, to member `userId`, each of `promote` (member -> admin), `demote`
 * (admin -> member; an owner -> admin), `makeOwner`, `transfer` and `remove`.
 */
export function may(conversation, meId, userId = null) {
  const mine = roleOf(conversation, meId);
  const admin = RANK[mine] >= RANK.admin;
  const owner = mine === "owner";
  const rights = { edit: admin, add: admin || Boolean(conversation?.members_can_add && mine), delete: owner };
  if (userId === null || userId === meId) return rights;
  const theirs = roleOf(conversation, userId);
  if (!theirs) return rights;
  return {
    ...rights,
    promote: admin && theirs === "member",
    demote: (admin && theirs === "admin") || (owner && theirs === "owner"),
    makeOwner: owner && theirs !== "owner",
    transfer: owner && theirs !== "owner",
    remove: (admin && theirs === "member") || (owner && theirs === "admin"),
  };
}
