// The page's store: its one state (store/state.js) and who watches which part of it.
//
// Reducers (store/*.js) change the state and name the topics they changed; `update` runs one and
// tells each topic's watchers. The event-dispatch table (events.js), the loaders (loaders.js) and
// the actions (actions.js) update the store; views read it and watch its topics. A topic is a
// name ("conversations", "friends", ...) optionally with the id of what changed
// ("messages:12"): watchers of "messages" get 12.

import { createState } from "./store/state.js";

export const state = createState();

const listeners = new Map();

/** Call `fn(detail)` when `topic` changes; returns an unsubscribe function. */
export function watch(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

/** Run `reducer(state, ...args)`, then tell the watchers of every topic it changed. */
export function update(reducer, ...args) {
  const topics = new Set(reducer(state, ...args));
  for (const topic of topics) notify(topic);
}

function notify(topic) {
  const at = topic.indexOf(":");
  const name = at < 0 ? topic : topic.slice(0, at);
  const detail = at < 0 ? undefined : Number(topic.slice(at + 1));
  for (const fn of [...(listeners.get(name) ?? [])]) {
    try {
      fn(detail);
    } catch (error) {
      // One failing view must not keep the others stale: rethrown on its own, it reaches the
      // page's error report (errors.js) and the console.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}
