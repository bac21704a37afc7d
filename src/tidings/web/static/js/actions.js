// What the user does, as requests to the server: each answer is fed to a store reducer (its event
// follows and changes nothing more, reducers being idempotent). They reject when the request
// fails; the view that asked reports it (errors.js), as only it knows where to show it. Sending
// a message is the exception: it goes through the outbox (outbox.js), and what becomes of it
// shows on the message itself ("Waiting to send", or "Not sent: … Retry · Delete").

import { api, ApiError } from "./api.js";
import { discardQueued, queueMessage, retryQueued } from "./outbox.js";
import { uploadName } from "./attachments.js";
import { state, update } from "./store.js";
import { applyConversation, directWith, receiveMessageDeleted, receiveMessageUpdated } from "./store/conversations.js";
import { applyFriendRequest, applyFriendUpdate } from "./store/friends.js";
import { quoteOf, toggleOwnReaction } from "./store/messages.js";
import { markNotificationRead, unmarkNotificationRead } from "./store/notifications.js";
import { applySettings, receiveBlockUpdate } from "./store/settings.js";
import { putUsers, userById } from "./store/users.js";

// Messages ------------------------------------------------------------------------------------

/** A new id for a send. `crypto.randomUUID` exists only in secure contexts (https, localhost);
 * elsewhere the same version-4 UUID is made from `getRandomValues`. */
export function newClientId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Send `content` (a reply to the message record `replyTo`, if given, with `attachments`, our
 * uploads' AttachmentViews) through the outbox (outbox.js): shown at once as pending, kept until
 * the server has it, settled by the answer or the event (store/messages.js). */
export function sendMessage(conversationId, content, { replyTo = null, attachments = [] } = {}) {
  queueMessage({
    client_id: newClientId(),
    conversation_id: conversationId,
    sender_id: state.meId,
    content,
    created_at: new Date().toISOString(),
    reply_to: replyTo ? quoteOf(replyTo) : null,
    attachments,
  });
}

/** Send a message the server refused again, under its client id (the server stores it once). */
export function retryMessage(_conversationId, clientId) {
  retryQueued(clientId);
}

/** Give up a message the server refused: it leaves the outbox and the conversation. */
export function discardMessage(_conversationId, clientId) {
  discardQueued(clientId);
}

/**
 * Upload `file` (its bytes as they are: the server sniffs what it is) to send with a message
 * later. `onProgress(loaded)` hears how many bytes have gone. Returns `{done, abort}`: `done`
 * resolves to the AttachmentView, or rejects with an ApiError (an AbortError once aborted).
 * XMLHttpRequest rather than fetch, as only it tells an upload's progress.
 */
export function uploadAttachment(file, { onProgress } = {}) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.open("POST", `/api/attachments?filename=${encodeURIComponent(uploadName(file.name))}`);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    // An image or video type makes the server insist the bytes are one (415 if not).
    if (file.type) xhr.setRequestHeader("Content-Type", file.type);
    // As api.js: the upload is for this page's user, refused if someone else signed in since.
    const pageUser = document.body.dataset.userId;
    if (pageUser) xhr.setRequestHeader("Tidings-User", pageUser);
    xhr.upload.onprogress = (event) => onProgress?.(event.loaded);
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status === 201 && body) resolve(body);
      else reject(new ApiError(xhr.status, body));
    };
    // Files are not kept for later: one picked offline is refused here, and the tray says why.
    const unreachable = navigator.onLine === false ? "You're offline: attach files when you're back online." : "Cannot reach the server. Check your connection.";
    xhr.onerror = () => reject(new ApiError(0, { detail: unreachable }));
    xhr.onabort = () => reject(new DOMException("Upload cancelled", "AbortError"));
    xhr.send(file);
  });
  return { done, abort: () => xhr.abort() };
}

/** Discard one of our uploads that was not sent (its bytes go once nothing else uses them). */
export async function discardAttachment(id) {
  await api("DELETE", `/api/attachments/${id}`);
}

/** Change the text of one of our messages (its `message_updated` event follows). */
export async function editMessage(conversationId, messageId, content) {
  const { message } = await api("PATCH", `/api/conversations/${conversationId}/messages/${messageId}`, { content });
  update(receiveMessageUpdated, { message });
}

/** Delete a message (ours, or any in a group we created): it stays as a placeholder. */
export async function deleteMessage(conversationId, messageId) {
  const { message } = await api("DELETE", `/api/conversations/${conversationId}/messages/${messageId}`);
  update(receiveMessageDeleted, { message });
}

/**
 * React to a message with `emoji` (`on`), or take our reaction back: shown at once, then the
 * `message_reactions` event says what the reactions are. (The answer is not applied: it can
 * come after the event of someone else's later reaction, and reactions carry no version.) If
 * the request fails, the change is undone and the promise rejects (the view reports it).
 */
export async function setReaction(conversationId, messageId, emoji, on) {
  update(toggleOwnReaction, conversationId, messageId, emoji, on);
  const path = `/api/conversations/${conversationId}/messages/${messageId}/reactions/${encodeURIComponent(emoji)}`;
  try {
    await api(on ? "PUT" : "DELETE", path);
  } catch (error) {
    update(toggleOwnReaction, conversationId, messageId, emoji, !on);
    throw error;
  }
}

/** Mark a conversation read (its `read` event brings the new counts, to every tab). */
export async function markConversationRead(id) {
  await api("POST", `/api/conversations/${id}/read`);
}

// Conversations -------------------------------------------------------------------------------

/** The direct conversation with a user: the one we have, or a new one. Resolves to its id. */
export async function directConversation(userId) {
  const existing = directWith(state, userId);
  if (existing) return existing.id;
  const conversation = await api("POST", "/api/conversations", { type: "direct", user_id: userId });
  if (!state.conversations.has(conversation.id)) update(applyConversation, conversation);
  return conversation.id;
}

/** Create a group of friends; resolves to its id. */
export async function createGroup(name, memberIds) {
  const conversation = await api("POST", "/api/conversations", { type: "group", name, member_ids: memberIds });
  if (!state.conversations.has(conversation.id)) update(applyConversation, conversation);
  return conversation.id;
}

// Notifications -------------------------------------------------------------------------------

/** Mark a stored notification read: shown at once, the count follows with the event. If the
 * request fails it shows unread again, and the promise rejects (the view reports it). */
export async function readNotification(id) {
  update(markNotificationRead, id);
  try {
    await api("POST", `/api/notifications/${id}`);
  } catch (error) {
    update(unmarkNotificationRead, id);
    throw error;
  }
}

export async function readAllNotifications() {
  await api("POST", "/api/notifications/read-all");
}

// Friends -------------------------------------------------------------------------------------

export async function sendFriendRequest(username) {
  const { request } = await api("POST", "/api/friends/request", { username });
  update(applyFriendRequest, request);
}

/** Accept, decline (a request to us) or cancel (ours). */
export async function answerFriendRequest(requestId, answer) {
  const { request } = await api("POST", `/api/friends/requests/${requestId}/${answer}`);
  update(applyFriendRequest, request);
}

export async function removeFriend(userId) {
  await api("DELETE", `/api/friends/${userId}`);
  update(applyFriendUpdate, { friend: userById(state, userId), status: "removed" });
}

/** Find people by username or display name (prefix, infix, typos; friends first); resolves to
 * their ids, best first (the people go in the users map; whether they are friends, the store
 * knows). `signal` aborts the request. */
export async function searchUsers(q, { limit = 10, signal } = {}) {
  const users = await api("GET", `/api/users?q=${encodeURIComponent(q)}&limit=${limit}`, undefined, { signal });
  update(putUsers, users.map(({ is_friend: _, ...user }) => user));
  return users.map((u) => u.id);
}

// Profile and account -------------------------------------------------------------------------

/** Change our display name and/or bio (`{display_name?, bio?}`); resolves to `{user, bio}`.
 * Our `user_updated` event follows (to every tab, and to everyone who shows us). */
export async function updateProfile(changes) {
  const answer = await api("PATCH", "/api/users/me", changes);
  update(putUsers, [answer.user]);
  return answer;
}

/** Make `file` (a picked image) our avatar: the server crops and resizes it (415 if it is not
 * an image, 413 if too large). */
export async function uploadAvatar(file) {
  const { user } = await api("PUT", "/api/users/me/avatar", file);
  update(putUsers, [user]);
}

export async function removeAvatar() {
  const { user } = await api("DELETE", "/api/users/me/avatar");
  update(putUsers, [user]);
}

/** Change our password (our other sessions end; this one goes on under a new cookie). */
export async function changePassword(currentPassword, newPassword) {
  await api("POST", "/api/auth/password", { current_password: currentPassword, new_password: newPassword });
}

/** Delete our account for good (401 if `password` is wrong); the caller then leaves the page. */
export async function deleteAccount(password) {
  await api("DELETE", "/api/users/me", { password });
}

// Settings, mutes and blocks -------------------------------------------------------------------

/** Change some of our settings (`{desktop_notifications?: bool, ...}`); every tab hears
 * `settings_updated`. */
export async function updateSettings(changes) {
  update(applySettings, await api("PATCH", "/api/users/me/settings", changes));
}

/** Mute a conversation until `until` (a Date), or, null, until we unmute it. */
export async function muteConversation(id, until) {
  const conversation = await api("PUT", `/api/conversations/${id}/mute`, { until: until ? until.toISOString() : null });
  update(applyConversation, conversation);
}

export async function unmuteConversation(id) {
  update(applyConversation, await api("DELETE", `/api/conversations/${id}/mute`));
}

/** Block someone: they can no longer message us, ask to be friends or add us to groups. */
export async function blockUser(userId) {
  const { block } = await api("PUT", `/api/blocks/${userId}`);
  update(receiveBlockUpdate, { user: block.user, blocked: true });
}

export async function unblockUser(userId) {
  await api("DELETE", `/api/blocks/${userId}`);
  update(receiveBlockUpdate, { user: userById(state, userId), blocked: false });
}

// Session -------------------------------------------------------------------------------------

/** End this session (or, `everywhere`, all of this user's sessions) on the server. */
export async function signOut({ everywhere = false } = {}) {
  await api("POST", everywhere ? "/api/auth/logout-everywhere" : "/api/auth/logout");
}
