// Tidings' service worker, served at /sw.js (tidings/web/offline.py writes in VERSION and SHELL
// from the asset manifest: a deploy that changes any static file changes this script, so the
// browser installs the new worker, which drops the previous one's caches).
//
// What it keeps, and nothing more:
// - the app shell (SHELL: scripts, stylesheet, the SVG icon), fetched at install and served
//   from the cache first;
// - the app page ("/"), network first: the last one fetched is kept and served when the network
//   is down (or the server unreachable behind its proxy), so the app opens offline. The page
//   names its user: a redirect to sign in drops it, and the pages drop every cache on sign-out
//   and on the sign-in page (offline.js, worker.js).
// Everything else (the API, the event stream, attachments, avatars, the other pages) is not
// touched: no respondWith, so the browser fetches it as if there were no worker. No message
// data is ever stored here, and request interception (tests, devtools) sees those requests.

const VERSION = {{ version|tojson }};
const SHELL = {{ shell|tojson }};
const SHELL_CACHE = `tidings-shell-${VERSION}`;
const PAGE_CACHE = `tidings-page-${VERSION}`;
const APP_PAGE = "/";
const UNREACHABLE = new Set([502, 503, 504]);
const shellPaths = new Set(SHELL.map((url) => new URL(url, self.location.origin).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL_CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const current = [SHELL_CACHE, PAGE_CACHE];
      for (const name of await caches.keys()) {
        if (name.startsWith("tidings-") && !current.includes(name)) await caches.delete(name);
      }
      // The page's request starts while the worker wakes up, instead of after.
      await self.registration.navigationPreload?.enable();
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate") {
    if (url.pathname === APP_PAGE) event.respondWith(appPage(event));
    return;
  }
  if (shellPaths.has(url.href)) event.respondWith(fromShell(request));
});

// A page of the app says it is open (worker.js): make sure what opening it offline needs is
// here (the shell, which a sign-out may have dropped, and this very page when it did not come
// through this worker), then say so. One preparation at a time: a first visit says it twice
// (this worker ready, then in control), and two at once would both fetch the page.
let preparing = null;
self.addEventListener("message", (event) => {
  if (event.data?.kind !== "app-opened") return;
  preparing ??= prepareOffline({ pageKept: event.data.controlled }).finally(() => {
    preparing = null;
  });
  event.waitUntil(
    preparing.then((ready) => event.source?.postMessage({ kind: "offline-ready", ready, version: VERSION })),
  );
});

async function prepareOffline({ pageKept }) {
  try {
    const cache = await caches.open(SHELL_CACHE);
    const missing = [];
    for (const url of SHELL) if (!(await cache.match(url, { ignoreVary: true }))) missing.push(url);
    if (missing.length) await cache.addAll(missing);
    if (!pageKept || !(await keptPage())) await keepPage(await fetch(APP_PAGE, { redirect: "manual" }));
    return Boolean(await keptPage());
  } catch {
    return false; // offline meanwhile: the next page open tries again
  }
}

function isAppPage(response) {
  return response.status === 200 && response.type === "basic" && !response.redirected;
}

async function keepPage(response) {
  if (isAppPage(response)) await (await caches.open(PAGE_CACHE)).put(APP_PAGE, response);
  else if (response.type === "opaqueredirect" || response.status === 401) await caches.delete(PAGE_CACHE); // signed out
}

function keptPage() {
  return caches.match(APP_PAGE, { cacheName: PAGE_CACHE });
}

async function appPage(event) {
  let response;
  try {
    response = (await event.preloadResponse) ?? (await fetch(event.request));
  } catch (error) {
    const kept = await keptPage();
    if (kept) return kept;
    throw error;
  }
  if (UNREACHABLE.has(response.status)) return (await keptPage()) ?? response;
  event.waitUntil(keepPage(response.clone()));
  return response;
}

async function fromShell(request) {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(request, { ignoreVary: true });
  if (kept) return kept;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}
