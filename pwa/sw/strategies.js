// Named caching strategies. Each returns a Response or undefined; undefined means "do not
// answer": the caller then never calls respondWith and the browser fetches as if there were
// no worker. Only GET is ever answered (POST and PUT bodies pass untouched).

// Versioned static files never change under their URL: any cache that has one is right.
export async function cacheFirst(request, cacheName) {
  const hit = await caches.match(request);
  if (hit) return hit;
  const res = await fetch(request);
  if (res.ok && res.type === "basic") {
    const copy = res.clone();
    caches.open(cacheName).then((c) => c.put(request, copy)).catch(() => {});
  }
  return res;
}

// The shell of *this* worker's version, from its own cache: it names static URLs this cache
// holds, so it starts with no network. A newer shell arrives with a newer worker, never
// piecemeal (a newer shell cached under an older worker would name files it does not have).
export async function shellFromCache(cacheName) {
  const cache = await caches.open(cacheName);
  const hit = await cache.match("/");
  if (hit) return hit;
  return fetch("/");
}

// Network, falling back to whatever cache has it (the manifest, for one).
export async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (e) {
    const hit = await caches.match(request);
    if (hit) return hit;
    throw e;
  }
}
