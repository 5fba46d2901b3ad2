// Carebridge service worker: keeps the app shell (the page, its script and styles, icons,
// the emoji list) so the app opens at once and can say "No connection" when offline.
// It never keeps messages, pictures, files or anything of the homeserver or the bridge's
// API: those requests pass through untouched. build.mjs fills in VERSION and SHELL; a new
// build is a new worker, which replaces the old caches. Signing out deletes every cache
// and unregisters this worker (src/pwa.js).
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const CACHE = `carebridge-shell-${VERSION}`;
const FRESH_FIRST = ["config.json", "manifest.webmanifest"]; // the deployment's, may change
const ON_FIRST_USE = ["emoji.json"];
const scope = new URL(self.registration.scope);

self.addEventListener("install", (event) => {
    event.waitUntil((async () => {
        const cache = await caches.open(CACHE);
        await cache.addAll([...SHELL, ...FRESH_FIRST].map((path) => new Request(new URL(path, scope), {cache: "reload"})));
        await self.skipWaiting();
    })());
});

self.addEventListener("activate", (event) => {
    event.waitUntil((async () => {
        for (const name of await caches.keys()) {
            if (name !== CACHE) await caches.delete(name);
        }
        await self.clients.claim();
    })());
});

function shellPath(request) {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
    if (request.headers.has("Authorization")) return null;
    if (request.mode === "navigate") return "index.html";
    const path = url.pathname.slice(scope.pathname.length) || "index.html";
    return [...SHELL, ...FRESH_FIRST, ...ON_FIRST_USE].includes(path) ? path : null;
}

async function cacheFirst(path) {
    const cache = await caches.open(CACHE);
    const key = new URL(path, scope).href;
    const kept = await cache.match(key);
    if (kept) return kept;
    const answer = await fetch(key);
    if (answer.ok) await cache.put(key, answer.clone());
    return answer;
}

async function networkFirst(path) {
    const cache = await caches.open(CACHE);
    const key = new URL(path, scope).href;
    try {
        const answer = await fetch(key, {cache: "no-store"});
        if (answer.ok) await cache.put(key, answer.clone());
        return answer;
    } catch (err) {
        const kept = await cache.match(key);
        if (kept) return kept;
        throw err;
    }
}

self.addEventListener("fetch", (event) => {
    const path = shellPath(event.request);
    if (path === null) return; // messages, media, API calls: never touched, never kept
    event.respondWith(FRESH_FIRST.includes(path) ? networkFirst(path) : cacheFirst(path));
});
