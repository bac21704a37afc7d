// Friends: our friends (`friendIds`) and the pending requests to and from us, kept as
// `{id, requester_id, addressee_id, status, created_at}`. They follow `friend_request` (a request
// to us, or answered by us) and `friend_update` (someone added or removed) events, and the
// answers to our own requests, which are the same requests.

import { putUsers, userById } from "./users.js";

export function requestRecord(r) {
  return { id: r.id, requester_id: r.requester.id, addressee_id: r.addressee.id, status: r.status, created_at: r.created_at };
}

/** A request, new or answered: only pending ones are kept. */
export function applyFriendRequest(state, request) {
  const topics = putUsers(state, [request.requester, request.addressee]);
  state.incoming.delete(request.id);
  state.outgoing.delete(request.id);
  if (request.status === "pending") {
    (request.addressee.id === state.meId ? state.incoming : state.outgoing).set(request.id, requestRecord(request));
  }
  return [...topics, "friends"];
}

/** The `friend_request` event. */
export function receiveFriendRequest(state, { request }) {
  return applyFriendRequest(state, request);
}

/** The `friend_update` event (and our own removal of a friend): `friend` added or removed. */
export function applyFriendUpdate(state, { friend, status, request_id: requestId }) {
  const topics = putUsers(state, [friend]);
  if (status === "added") {
    state.friendIds.add(friend.id);
    for (const requests of [state.incoming, state.outgoing]) {
      for (const [id, r] of requests) {
        if (id === requestId || r.requester_id === friend.id || r.addressee_id === friend.id) requests.delete(id);
      }
    }
  } else {
    state.friendIds.delete(friend.id);
  }
  return [...topics, "friends"];
}

/** Our friends (users), by name. */
export function sortedFriends(state) {
  return [...state.friendIds].map((id) => userById(state, id)).sort((a, b) => a.display_name.localeCompare(b.display_name));
}

/** Requests to us, newest first. */
export function incomingRequests(state) {
  return [...state.incoming.values()].sort((a, b) => b.id - a.id);
}

/** Requests from us, newest first. */
export function outgoingRequests(state) {
  return [...state.outgoing.values()].sort((a, b) => b.id - a.id);
}

/** Where we stand with someone: "friend", "requested" (by us), their request to us, or null. */
export function relation(state, userId) {
  if (state.friendIds.has(userId)) return "friend";
  for (const r of state.outgoing.values()) if (r.addressee_id === userId) return "requested";
  for (const r of state.incoming.values()) if (r.requester_id === userId) return r;
  return null;
}
