// The service worker, from the pages (it is served at /sw.js, whose comment says what it keeps:
// the app shell and the last app page, never message data). Kept apart from the app's modules
// so the sign-in page can use it without them.

/**
 * Register the service worker (a failure is harmless: the app works online without one). With
 * `appOpened`, tell it the app page is open, so that it keeps what opening offline needs; the
 * page's <body> gets `data-offline-ready` when it has.
 */
export function registerWorker({ appOpened = false } = {}) {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js").catch(() => {});
  if (!appOpened) return;
  const tell = (worker) => worker?.postMessage({ kind: "app-opened", controlled: Boolean(navigator.serviceWorker.controller) });
  navigator.serviceWorker.addEventListener("message", (event) => {
    if (event.data?.kind === "offline-ready") document.body.dataset.offlineReady = String(event.data.ready);
  });
  navigator.serviceWorker.startMessages();
  navigator.serviceWorker.ready.then((registration) => tell(registration.active), () => {});
  // A new worker took over (a deploy): its caches start empty.
  navigator.serviceWorker.addEventListener("controllerchange", () => tell(navigator.serviceWorker.controller));
}

/** Forget the app page kept for opening offline (the sign-in page: nobody is signed in). */
export function forgetAppPage() {
  return dropCaches("tidings-page-");
}

export async function dropCaches(prefix) {
  if (!globalThis.caches) return;
  try {
    for (const name of await caches.keys()) if (name.startsWith(prefix)) await caches.delete(name);
  } catch {
    // Storage refused: nothing was kept.
  }
}
