// The one IndexedDB module: it owns the schema, its upgrades and the connection. Used by the
// page and by the service worker (no DOM here).
const NAME = "fieldlog";

// UPGRADES[n] takes the database from version n to n + 1. Only ever append: a phone may skip
// several app versions, and its unsent records must survive every step.
const UPGRADES = [
  (db) => {
    // records: every record of every author on this phone, unsent or not.
    // queued = 1 while it waits to be pushed (numbers, because booleans cannot be indexed).
    const r = db.createObjectStore("records", { keyPath: "id" });
    r.createIndex("author", "author");
    r.createIndex("queue", ["author", "queued"]);
    const a = db.createObjectStore("activities", { keyPath: "id" });
    a.createIndex("queue", ["author", "queued"]);
    db.createObjectStore("photos", { keyPath: "sha" }); // {sha, blob, author}
    db.createObjectStore("meta"); // key -> value: session, cursor:<uid>, ref:<uid>, ...
  },
];
export const DB_VERSION = UPGRADES.length;

let opening = null;

export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const rq = indexedDB.open(NAME, DB_VERSION);
      rq.onupgradeneeded = (e) => {
        for (let v = e.oldVersion; v < DB_VERSION; v++) UPGRADES[v](rq.result, rq.transaction);
      };
      rq.onsuccess = () => {
        const db = rq.result;
        // Another tab (or the new service worker) upgrades: let it, and reopen on next use.
        db.onversionchange = () => {
          db.close();
          opening = null;
        };
        // The browser may drop the connection (storage cleared, disk error): reopen lazily.
        db.onclose = () => {
          opening = null;
        };
        resolve(db);
      };
      rq.onerror = () => {
        opening = null;
        reject(rq.error);
      };
    });
  }
  return opening;
}

export const req = (r) =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

// Runs fn(stores) in one transaction and resolves with its result once the transaction has
// committed: a caller never hears "saved" before the data is on disk. Retries once on a
// connection that closed under us.
export async function tx(names, mode, fn) {
  names = [].concat(names);
  for (let attempt = 0; ; attempt++) {
    let t;
    try {
      const db = await open();
      t = db.transaction(names, mode);
    } catch (e) {
      opening = null;
      if (attempt < 1 && e && e.name === "InvalidStateError") continue;
      throw e;
    }
    const stores = {};
    for (const n of names) stores[n] = t.objectStore(n);
    const done = new Promise((resolve, reject) => {
      t.oncomplete = resolve;
      t.onabort = t.onerror = () => reject(t.error || new DOMException("aborted", "AbortError"));
    });
    let result;
    try {
      result = await fn(stores);
    } catch (e) {
      try {
        t.abort();
      } catch {}
      await done.catch(() => {});
      throw e;
    }
    await done;
    return result;
  }
}

export const get = (store, key) => tx(store, "readonly", (s) => req(s[store].get(key)));
export const put = (store, value, key) =>
  tx(store, "readwrite", (s) => req(s[store].put(value, key)));
export const del = (store, key) => tx(store, "readwrite", (s) => req(s[store].delete(key)));
export const getMeta = (key) => get("meta", key);
export const setMeta = (key, value) => put("meta", value, key);

export const isQuotaError = (e) =>
  !!e && (e.name === "QuotaExceededError" || (e.inner && e.inner.name === "QuotaExceededError"));
