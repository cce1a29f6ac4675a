// What every view shares: the session, reference data from pull, and the sync scheduler.
import * as db from "../lib/db.js";
import * as sync from "../lib/sync.js";
import { lang } from "../lib/i18n.js";

const metaTag = (n) => (document.querySelector(`meta[name="${n}"]`) || {}).content || "";

export const app = {
  version: metaTag("fieldlog-version"),
  demo: metaTag("fieldlog-demo") === "1",
  tz: metaTag("fieldlog-tz") || "Asia/Shanghai",
  session: null,
  ref: {},
  uploading: new Set(),
  progress: null, // {what, done, total} while a run goes, then {result}
  storageFull: false,
  render: () => {}, // set by main.js
  banners: () => {},
};

export const uid = () => (app.session && app.session.user ? app.session.user.id : null);

export async function loadSession() {
  app.session = (await db.getMeta("session")) || null;
  app.ref = (uid() && (await db.getMeta("ref:" + uid()))) || {};
}

export const teams = () => app.ref.teams || (app.session && app.session.user.teams) || [];
export const team = (id) => teams().find((t) => t.id === id) || teams()[0] || null;
export const categories = () => app.ref.categories || [];
export const category = (code) => categories().find((c) => c.code === code);
export const catName = (c) => (c ? (lang === "en" && c.name_en) || c.name : "");
export const unitName = (c) => (lang === "en" && c.quantity_unit_en) || c.quantity_unit;

// The running outing: one this phone started, or a teammate's open one it joined (that one
// ends for us when pull no longer lists it as open).
export async function currentOuting() {
  const key = "outing:" + uid();
  const o = await db.getMeta(key);
  if (o && o.joined && app.ref.activities && !app.ref.activities.some((a) => a.id === o.id)) {
    await db.del("meta", key);
    return null;
  }
  return o || null;
}

// Retries back off exponentially with jitter; the network coming back starts over at once.
let attempt = 0;
let timer = null;

export async function kick() {
  clearTimeout(timer);
  timer = null;
  if (!app.session || app.session.expired) return { ok: false, reason: "signed-out" };
  const r = await sync.syncNow();
  await loadSession();
  if (r.ok) attempt = 0;
  else if (r.retry && navigator.onLine !== false) {
    const cap = Math.min(5 * 60000, 2000 * 2 ** attempt++);
    timer = setTimeout(kick, cap / 2 + Math.random() * (cap / 2));
  }
  app.progress = { result: r };
  app.render(true);
  return r;
}

export function resetBackoff() {
  attempt = 0;
}

// Asks the worker to upload after the tab is gone (Chromium's Background Sync).
export function backgroundSync() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.ready
    .then((r) => r.sync && r.sync.register("fieldlog-sync"))
    .catch(() => {});
}
