// The stream's state as the realtime client reports it: `status` (connecting, connected,
// reconnecting, offline) and this tab's `role` (leader, follower, solo).

import { followConnection } from "./presence.js";

export function setConnection(state, changes) {
  const next = { ...state.connection, ...changes };
  if (next.status === state.connection.status && next.role === state.connection.role) return [];
  state.connection = next;
  return ["connection", ...followConnection(state)];
}
