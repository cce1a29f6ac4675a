// The service worker: thin wiring of install, activate, fetch, sync and message. The server
// fills in the version, the static prefix and the asset list when it serves this file, so
// every deploy changes its bytes (hence an update) and its cache name.
import { cacheFirst, networkFirst, shellFromCache } from "__STATIC__/sw/strategies.js";
import { syncNow } from "__STATIC__/lib/sync.js";

const VERSION = "__VERSION__";
const CACHE = "fieldlog-" + VERSION;
const ASSETS = ["__ASSETS__"];
const SHELL_PATHS = new Set(["/", "/enrol", "/index.html"]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // The shell must be the one of this version, or offline starts would mix two versions.
      const shell = await fetch("/", { cache: "no-store" });
      if (!shell.ok || !(await shell.clone().text()).includes(VERSION)) {
        throw new Error("the server moved to another version while installing");
      }
      await cache.put("/", shell);
      await cache.addAll(ASSETS.filter((a) => a !== "/"));
    })(),
  );
  // No skipWaiting here: the page asks for it when the volunteer agrees and no upload runs.
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("fieldlog-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && SHELL_PATHS.has(url.pathname)) {
    event.respondWith(shellFromCache(CACHE));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(cacheFirst(request, CACHE));
  } else if (url.pathname === "/manifest.webmanifest") {
    event.respondWith(networkFirst(request));
  }
  // Everything else (the API, the console, photos) goes to the network untouched.
});

// Background Sync (Chromium): upload even after the tab is gone. A failed run makes the
// browser retry later with its own back-off.
self.addEventListener("sync", (event) => {
  if (event.tag !== "fieldlog-sync") return;
  event.waitUntil(
    syncNow().then((r) => {
      if (!r.ok && r.retry) throw new Error("sync failed; retry later");
    }),
  );
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "SKIP_WAITING") self.skipWaiting();
  if (event.data && event.data.type === "VERSION" && event.ports[0]) {
    event.ports[0].postMessage(VERSION);
  }
});
