// Working offline, the app page's side: the offline banner, the copy of the sidebar for opening
// offline (store/offline.js), and forgetting all of it (the outbox and the service worker's
// caches too: worker.js) on sign-out. Messages written offline wait in the outbox (outbox.js).

import { state, update, watch } from "./store.js";
import { applyOfflineCopy, offlineCopy, parseOfflineCopy } from "./store/offline.js";
import { outboxKey } from "./outbox.js";
import { dropCaches } from "./worker.js";

const copyKey = (userId) => `tidings:offline:${userId}`;
let leaving = false; // signed out (here or in another tab): nothing is kept any more

/** Show the offline banner while the stream says offline, or the browser has no network and
 * the stream is not connected (a connected stream shows the server can be reached). */
export function mountOfflineBanner(banner) {
  const draw = () => {
    const { status } = state.connection;
    banner.hidden = status !== "offline" && (navigator.onLine !== false || status === "connected");
  };
  watch("connection", draw);
  window.addEventListener("online", draw);
  window.addEventListener("offline", draw);
  draw();
}

/** Keep the copy of the sidebar of user `userId` up to date: after every snapshot, and when
 * the page is hidden or left (conversations may have come since). */
export function keepOfflineCopy(userId) {
  const save = () => {
    const copy = leaving ? null : offlineCopy(state);
    if (!copy) return;
    try {
      localStorage.setItem(copyKey(userId), JSON.stringify(copy));
    } catch {
      // Storage full or refused: the app will not open offline with its conversations.
    }
  };
  watch("resynced", save);
  document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" && save());
  window.addEventListener("pagehide", save);
}

/** Open with the copy of the sidebar of user `userId` (no snapshot can be fetched); false if
 * there is none. */
export function openOfflineCopy(userId) {
  let copy = null;
  try {
    copy = parseOfflineCopy(localStorage.getItem(copyKey(userId)), userId);
  } catch {
    copy = null;
  }
  if (!copy) return false;
  update(applyOfflineCopy, copy);
  return true;
}

/** Save the copy no more: the page leaves for sign-in (signed out here, or in another tab that
 * forgot this device: saving as this one leaves would bring the copy back). */
export function stopKeepingOfflineCopy() {
  leaving = true;
}

/** Forget what this browser keeps for user `userId` (signing out): the copy of the sidebar,
 * the outbox, and every cache of the service worker (the app page names the user). */
export async function forgetThisDevice(userId) {
  stopKeepingOfflineCopy();
  for (const key of [copyKey(userId), outboxKey(userId)]) {
    try {
      localStorage.removeItem(key);
    } catch {
      // Storage refused: nothing was kept.
    }
  }
  await dropCaches("tidings-");
}
