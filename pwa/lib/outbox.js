// The outbox: every record logged on this phone, tied to its author's user id. An entry leaves
// the queue only when the server has answered for it; another person signed in on the same
// phone never sees or sends it.
//
// entry = {id, author, queued: 0|1, state, data, version, status, message, server, photosTodo,
//          rev, created, updated}
// data holds exactly the fields of docs/sync.md's record (base_version only for an edit).
import { tx, req } from "./db.js";

// Server status -> what the phone shows.
const SHOWN = { submitted: "uploaded" };
// Not stored on the server yet (or rejected by it) and waiting for the volunteer or the network.
export const UNSENT = new Set(["pending", "invalid", "conflict", "forbidden"]);

export const FIELDS = [
  "id", "base_version", "team_id", "category", "activity_id", "occurred_at", "duration_min",
  "place", "place_unit_id", "beneficiaries", "description", "companions", "photos",
  "photo_consent", "quantity", "lat", "lng", "accuracy_m", "source", "created_at",
];

export function pick(obj) {
  const out = {};
  for (const k of FIELDS) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

// Writes a new or edited record (and its photo blobs) in one transaction, before anything
// else happens to it. photos: [{sha, blob}]
export function put(author, data, photos = []) {
  return tx(["records", "photos"], "readwrite", async (s) => {
    const old = await req(s.records.get(data.id));
    if (old && old.author !== author) throw new Error("not your record");
    const now = Date.now();
    for (const p of photos) s.photos.put({ sha: p.sha, blob: p.blob, author });
    const entry = {
      ...(old || { id: data.id, author, created: now, rev: 0, photosTodo: [] }),
      data,
      queued: 1,
      state: "pending",
      message: null,
      server: null,
      errors: null,
      reason: null,
      rev: ((old && old.rev) || 0) + 1,
      updated: now,
    };
    s.records.put(entry);
    return entry;
  });
}

export const get = (id) => tx("records", "readonly", (s) => req(s.records.get(id)));

export const list = (author) =>
  tx("records", "readonly", (s) => req(s.records.index("author").getAll(author)));

export const pending = (author) =>
  tx("records", "readonly", (s) => req(s.records.index("queue").getAll([author, 1])));

export async function unsent(author) {
  return (await list(author)).filter((e) => e.queued || UNSENT.has(e.state));
}

// Applies the push answer. sent: the entries as they were sent (with their rev).
export function ack(sent, results) {
  return tx("records", "readwrite", async (s) => {
    for (const r of results) {
      const was = sent[r.index];
      if (!was || was.id !== r.id) continue;
      const e = await req(s.records.get(was.id));
      if (!e) continue;
      const edited = e.rev !== was.rev; // changed on the phone while the batch was in flight
      if (["created", "updated", "duplicate"].includes(r.result)) {
        e.version = r.version;
        e.status = r.status;
        e.photosTodo = [...new Set([...(e.photosTodo || []), ...(r.missing_photos || [])])];
        if (edited) {
          // The newer content must now go as an edit of what the server just stored.
          e.data = { ...e.data, base_version: r.version };
        } else {
          e.queued = 0;
          e.state = SHOWN[r.status] || r.status || "uploaded";
          e.message = null;
          delete e.data.base_version;
        }
      } else if (!edited) {
        e.queued = 0;
        e.state = r.result; // invalid | conflict | forbidden
        e.server = r.server || null;
        e.errors = r.errors || null;
        e.reason = r.reason || null;
        e.message =
          r.result === "invalid"
            ? (r.errors || []).map((x) => (x.field ? x.field + ": " : "") + x.message).join("; ")
            : r.message || r.reason || r.result;
      }
      e.updated = Date.now();
      s.records.put(e);
    }
  });
}

// Applies records from pull: the server's word on status, note and version. An entry with an
// unsent local edit keeps its content.
export function applyServer(author, records) {
  return tx("records", "readwrite", async (s) => {
    for (const r of records) {
      const e = (await req(s.records.get(r.id))) || {
        id: r.id, author, created: Date.now(), rev: 0, queued: 0, photosTodo: [],
      };
      if (e.author !== author) continue;
      e.version = r.version;
      e.status = r.deleted ? "deleted" : r.status;
      if (!e.queued && UNSENT.has(e.state)) {
        // The volunteer's unsent content (invalid, conflict, forbidden) stays until they fix
        // or drop it; the server's copy shown beside it is kept current.
        if (e.state === "conflict") e.server = r;
      } else if (!e.queued) {
        e.data = pick(r);
        delete e.data.base_version;
        e.state = r.deleted ? "deleted" : SHOWN[r.status] || r.status;
        // The note stays on the server after a fix; it only matters while it asks for one.
        e.message = ["returned", "rejected"].includes(r.status) ? r.review_note || null : null;
        e.server = null;
      }
      e.updated = Date.now();
      s.records.put(e);
    }
  });
}

export const photo = (sha) => tx("photos", "readonly", (s) => req(s.photos.get(sha)));

export function photoDone(id, sha) {
  return tx("records", "readwrite", async (s) => {
    const e = await req(s.records.get(id));
    if (!e) return;
    e.photosTodo = (e.photosTodo || []).filter((x) => x !== sha);
    s.records.put(e);
  });
}

// Activities (outings) queue the same way; the leader's edits (ended_at) re-queue them.
export function putActivity(author, data) {
  return tx("activities", "readwrite", (s) =>
    req(s.activities.put({ id: data.id, author, data, queued: 1, updated: Date.now() })),
  );
}

export const pendingActivities = (author) =>
  tx("activities", "readonly", (s) => req(s.activities.index("queue").getAll([author, 1])));

export function ackActivities(sent, results) {
  return tx("activities", "readwrite", async (s) => {
    for (const r of results || []) {
      const was = sent[r.index];
      if (!was) continue;
      const e = await req(s.activities.get(was.id));
      if (!e || JSON.stringify(e.data) !== JSON.stringify(was.data)) continue;
      e.queued = 0;
      e.result = r.result;
      s.activities.put(e);
    }
  });
}
