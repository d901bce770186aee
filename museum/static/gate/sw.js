/* Gate console service worker: lets the console page load again while the server is unreachable.
 *
 * Served by the gate blueprint at /gate-sw.js (scope /gate), which fills in VERSION (a hash of this file
 * and the console's assets, so a changed asset installs a new worker and a new cache) and ASSETS (the
 * URLs the page loads them from).
 *
 * - Navigations to /gate (any query string): network first with a short timeout; a good answer is kept
 *   in the cache; without an answer, the cached copy of that URL, or else any cached /gate page.
 * - The console's static assets: cache first, then network.
 * - Everything else (the API above all) is not touched: the page's own offline logic handles it.
 */
"use strict";

const VERSION = "__GATE_SW_VERSION__";
const ASSETS = ["__GATE_SW_ASSETS__"];
const PREFIX = "museum-gate-";
const CACHE = `${PREFIX}${VERSION}`;
const PAGE_PATH = "/gate";
const NAVIGATION_TIMEOUT_MS = 2000;

const assetUrls = new Set(ASSETS.map((path) => new URL(path, self.location.origin).href));

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(ASSETS))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => names.filter((name) => name.startsWith(PREFIX) && name !== CACHE))
      .then((old) => Promise.all(old.map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === PAGE_PATH) {
    event.respondWith(page(event));
  } else if (assetUrls.has(url.href)) {
    event.respondWith(asset(request));
  }
  // Anything else goes to the network untouched.
});

function cacheable(response) {
  return response && response.status === 200 && response.type === "basic" && !response.redirected;
}

async function cachedPage(request) {
  const cache = await caches.open(CACHE);
  const exact = await cache.match(request, { ignoreVary: true });
  if (exact) return exact;
  for (const key of await cache.keys()) {
    if (new URL(key.url).pathname === PAGE_PATH) {
      const any = await cache.match(key, { ignoreVary: true });
      if (any) return any;
    }
  }
  return null;
}

function page(event) {
  const request = event.request;
  const network = fetch(request).then((response) => {
    if (cacheable(response)) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request.url, copy)).catch(() => {}));
    }
    return response;
  });
  return new Promise((resolve) => {
    let settled = false;
    const fallback = async (error) => {
      if (settled) return;
      const cached = await cachedPage(request);
      if (settled) return;
      if (cached) {
        settled = true;
        resolve(cached);
      } else if (error) {
        settled = true;
        resolve(Response.error());
      }
      // A timeout with nothing cached: keep waiting for the network.
    };
    const timer = setTimeout(() => fallback(null), NAVIGATION_TIMEOUT_MS);
    network.then(
      (response) => {
        clearTimeout(timer);
        if (!settled) {
          settled = true;
          resolve(response);
        }
      },
      (error) => {
        clearTimeout(timer);
        fallback(error || new Error("network"));
      },
    );
  });
}

async function asset(request) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request, { ignoreVary: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (cacheable(response)) {
    const copy = response.clone();
    cache.put(request, copy).catch(() => {});
  }
  return response;
}
