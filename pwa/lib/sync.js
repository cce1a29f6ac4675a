// Pushes the outbox, uploads photos, pulls; used by the page and by the service worker's
// Background Sync (no DOM here). One run at a time across tabs and the worker (Web Locks).
import * as db from "./db.js";
import * as outbox from "./outbox.js";
import { iso } from "./i18n.js";

const BATCH = 25;
const listeners = new Set();
const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel("fieldlog") : null;

export function on(fn) {
  listeners.add(fn);
  if (channel) channel.addEventListener("message", (e) => fn(e.data));
}

// Tells this context and every other tab (and the worker) what happened.
export function emit(msg) {
  for (const fn of listeners) fn(msg);
  if (channel) channel.postMessage(msg);
}

export class HttpError extends Error {
  constructor(status, body) {
    super((body && (body.detail || (body.extra && body.extra.error))) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
  // Network failure (0), a server error or rate limiting: the same request later may work.
  get retry() {
    return this.status === 0 || this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

export async function api(path, { method = "GET", token, json, body, type } = {}) {
  const headers = {};
  if (token) headers.Authorization = "Bearer " + token;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (type) headers["Content-Type"] = type;
  let res;
  try {
    res = await fetch(path, { method, headers, body, cache: "no-store" });
  } catch {
    throw new HttpError(0, null);
  }
  let data = null;
  try {
    data = await res.json();
  } catch {}
  if (!res.ok) throw new HttpError(res.status, data);
  return data;
}

let running = null;
export const isRunning = () => !!running;

// Resolves with {ok, retry?, status?} when the run ends; concurrent callers share one run.
export function syncNow() {
  if (!running) {
    const go = () => run().finally(() => (running = null));
    running =
      typeof navigator !== "undefined" && navigator.locks
        ? navigator.locks.request("fieldlog-sync", go)
        : go();
  }
  return running;
}

async function run() {
  const session = await db.getMeta("session");
  if (!session || !session.token || session.expired) return { ok: false, reason: "signed-out" };
  emit({ type: "sync", phase: "start" });
  try {
    await push(session);
    await photos(session);
    await pull(session);
    await db.setMeta("lastSync:" + session.user.id, Date.now());
    emit({ type: "sync", phase: "done", ok: true });
    return { ok: true };
  } catch (e) {
    const status = e.status || 0;
    if (status === 401) {
      // Keep every record; only the token is gone.
      const now = await db.getMeta("session");
      if (now && now.token === session.token) await db.setMeta("session", { ...now, expired: 1 });
      emit({ type: "relogin" });
    }
    const retry = !(e instanceof HttpError) || e.retry;
    emit({ type: "sync", phase: "done", ok: false, retry, status });
    return { ok: false, retry, status, error: String(e.message || e) };
  }
}

async function push({ token, user }) {
  const acts = await outbox.pendingActivities(user.id);
  let recs = (await outbox.pending(user.id)).sort((a, b) => a.created - b.created);
  const total = recs.length;
  let done = 0;
  let size = BATCH;
  let first = true;
  if (total) emit({ type: "progress", what: "records", done, total });
  while (recs.length || (first && acts.length)) {
    const batch = recs.slice(0, size);
    emit({ type: "uploading", ids: batch.map((e) => e.id) });
    let res;
    try {
      res = await api("/api/v1/sync/push", {
        method: "POST",
        token,
        json: {
          client_time: iso(new Date()),
          activities: first ? acts.map((a) => a.data) : [],
          records: batch.map((e) => e.data),
        },
      });
    } catch (e) {
      if (e.status === 413 && size > 1) {
        size = Math.ceil(size / 2);
        continue;
      }
      throw e;
    } finally {
      emit({ type: "uploading", ids: [] });
    }
    if (first) await outbox.ackActivities(acts, res.activities);
    await outbox.ack(batch, res.results || []);
    recs = recs.slice(batch.length);
    done += batch.length;
    first = false;
    emit({ type: "progress", what: "records", done, total });
    emit({ type: "changed" });
  }
}

async function photos({ token, user }) {
  const todo = [];
  for (const e of await outbox.list(user.id))
    for (const sha of e.photosTodo || []) todo.push([e.id, sha]);
  let done = 0;
  for (const [id, sha] of todo) {
    emit({ type: "progress", what: "photos", done, total: todo.length });
    const p = await outbox.photo(sha);
    // The blob is gone (storage cleared, or already sent for another record): the server's
    // missing_media, which comes back through pull, says whether it still needs it.
    if (p) {
      for (let attempt = 0; ; attempt++) {
        try {
          await api("/api/v1/photos/" + sha, {
            method: "PUT", token, body: p.blob, type: p.blob.type || "image/jpeg",
          });
          break;
        } catch (e) {
          // 400 hash_mismatch: the upload was cut or changed on the way; send it again.
          if (e.status === 400 && attempt < 2) continue;
          // 409 not_referenced: no record of ours names it any more (an edit dropped it).
          if (e.status === 409 || e.status === 413 || e.status === 415 || e.status === 400) break;
          throw e;
        }
      }
      await db.del("photos", sha);
    }
    await outbox.photoDone(id, sha);
    done++;
  }
  if (todo.length) emit({ type: "progress", what: "photos", done, total: todo.length });
}

async function pull({ token, user }) {
  const key = "cursor:" + user.id;
  let cursor = await db.getMeta(key);
  for (let page = 0; page < 1000; page++) {
    let r;
    try {
      r = await api("/api/v1/sync/pull" + (cursor ? "?cursor=" + encodeURIComponent(cursor) : ""), {
        token,
      });
    } catch (e) {
      // A cursor the server no longer reads: start over (records are applied idempotently).
      if (e.status === 400 && cursor) {
        cursor = null;
        continue;
      }
      throw e;
    }
    await outbox.applyServer(user.id, r.records || []);
    const ref = (await db.getMeta("ref:" + user.id)) || {};
    for (const k of ["categories", "teams", "activities", "me"]) if (r[k]) ref[k] = r[k];
    await db.setMeta("ref:" + user.id, ref);
    cursor = r.cursor;
    await db.setMeta(key, cursor);
    emit({ type: "changed" });
    if (!r.more) break;
  }
}
