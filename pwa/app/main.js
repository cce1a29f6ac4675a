// Boot, hash routing, banners, sync triggers and the service worker's update prompt.
import * as db from "../lib/db.js";
import * as i18n from "../lib/i18n.js";
import * as outbox from "../lib/outbox.js";
import * as sync from "../lib/sync.js";
import { app, uid, loadSession, kick, resetBackoff } from "./state.js";
import { $ } from "./ui.js";
import * as home from "./home.js";
import * as login from "./login.js";

// The first screen (home or sign-in) comes with the page; the rest loads on first use, from
// the worker's cache once installed, so a first visit on a slow line fetches less up front.
const ROUTES = {
  "": () => home,
  login: () => login,
  log: () => import("./log.js"),
  records: () => import("./records.js"),
  outing: () => import("./outing.js"),
  settings: () => import("./settings.js"),
};
// Views with a form are not redrawn under the volunteer's fingers when data changes.
const LIVE = new Set(["", "records", "settings"]);
const STALE_MS = 3 * 24 * 3600 * 1000;
let current = null;
let drawing = 0;

function parseHash() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return { name: path || "", params: new URLSearchParams(query || "") };
}

async function render(refreshOnly) {
  const { params } = parseHash();
  let { name } = parseHash();
  if (!ROUTES[name]) name = "";
  if (!app.session) name = "login";
  if (refreshOnly && (name !== current || !LIVE.has(name))) return banners();
  const seq = ++drawing;
  const view = await ROUTES[name]();
  const node = await view.render(params);
  if (seq !== drawing) return; // a newer navigation won
  const main = $("#view");
  main.replaceChildren(node);
  if (!refreshOnly && current !== name) main.focus({ preventScroll: true });
  current = name;
  for (const a of document.querySelectorAll(".tabs a")) {
    a.setAttribute("aria-current", a.getAttribute("href") === "#/" + name ? "page" : "false");
  }
  $(".tabs").hidden = !app.session;
  await banners();
}
app.render = render;

const show = (tid, on) => {
  const el = document.querySelector(`[data-testid="${tid}"]`);
  if (el) el.hidden = !on;
};

async function banners() {
  const me = uid();
  let stale = false;
  if (me) {
    const old = Date.now() - STALE_MS;
    stale = (await outbox.unsent(me)).some((e) => e.created < old);
  }
  show("relogin-banner", app.session && app.session.expired);
  show("update-banner", !!app.waiting);
  show("nosw-banner", app.nosw);
  show("ios-a2hs-banner", app.iosHint);
  show("storage-full", app.storageFull);
  show("stale-warning", stale);
}
app.banners = banners;

async function enrolFromLink() {
  if (location.pathname !== "/enrol") return;
  const code = new URLSearchParams(location.search).get("code");
  history.replaceState(null, "", "/#/" + (app.session ? "" : "login"));
  if (code) await login.enrol(code);
}

// With no worker to cache them, fetch every view while the signal lasts, so 记一笔 still opens
// when it drops later with the page open.
function preloadViews() {
  for (const k of ["log", "records", "outing", "settings"]) ROUTES[k]().catch(() => {});
}

function registerWorker() {
  const ua = navigator.userAgent;
  const ios = /iPad|iPhone|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  const standalone =
    navigator.standalone || (window.matchMedia && matchMedia("(display-mode: standalone)").matches);
  if (!("serviceWorker" in navigator)) {
    app.nosw = true;
    preloadViews();
    return;
  }
  app.iosHint = ios && !standalone && !/MicroMessenger/i.test(ua);
  // A module worker shares lib/ with the page; browsers without module workers (Firefox < 147)
  // reject the registration and get the online-only banner.
  navigator.serviceWorker
    .register("/sw.js", { type: "module", scope: "/", updateViaCache: "none" })
    .then((reg) => {
      const watch = (w) => {
        if (!w) return;
        const check = () => {
          if (w.state === "installed" && navigator.serviceWorker.controller) {
            app.waiting = w;
            banners();
          }
        };
        w.addEventListener("statechange", check);
        check();
      };
      watch(reg.waiting);
      watch(reg.installing);
      reg.addEventListener("updatefound", () => watch(reg.installing));
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") reg.update().catch(() => {});
      });
    })
    .catch(() => {
      app.nosw = true;
      preloadViews();
      banners();
    });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (app.updating) location.reload();
  });
}

// The new worker takes over only when the volunteer agrees, and only between uploads: holding
// the sync lock keeps every tab and the worker from starting one until the page reloads.
async function acceptUpdate() {
  const w = app.waiting;
  if (!w) return;
  app.updating = true;
  $('[data-testid="update-accept"]').disabled = true;
  const swap = () =>
    new Promise((resolve) => {
      navigator.serviceWorker.addEventListener("controllerchange", resolve);
      w.postMessage({ type: "SKIP_WAITING" });
      setTimeout(resolve, 10000);
    });
  if (navigator.locks) await navigator.locks.request("fieldlog-sync", swap);
  else {
    while (sync.isRunning()) await new Promise((r) => setTimeout(r, 300));
    await swap();
  }
}

async function boot() {
  await loadSession();
  await i18n.load(i18n.pickLang(await db.getMeta("lang")), app.tz);
  if (app.demo) $("#demo").hidden = false;
  await enrolFromLink();
  addEventListener("hashchange", () => render());
  await render();
  document.body.setAttribute("data-app-ready", "1");

  $('[data-testid="update-accept"]').addEventListener("click", acceptUpdate);
  for (const b of document.querySelectorAll("[data-dismiss]")) {
    b.addEventListener("click", () => {
      app[b.dataset.dismiss] = false;
      banners();
    });
  }
  sync.on((m) => {
    if (m.type === "progress") app.progress = m;
    if (m.type === "uploading") app.uploading = new Set(m.ids);
    if (m.type === "relogin") loadSession().then(() => render(true));
    if (m.type === "changed" || m.type === "progress" || m.type === "uploading") render(true);
    if (m.type === "sync" && m.phase === "done") {
      app.progress = { result: m };
      loadSession().then(() => render(true));
    }
  });
  addEventListener("online", () => {
    resetBackoff();
    kick();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") kick();
  });
  registerWorker();
  // The no-worker and iOS hints are decided in registerWorker(); show them on this first view.
  banners();
  kick();
}

window.fieldlog = {
  version: app.version,
  outboxCount: async () => (uid() ? (await outbox.unsent(uid())).length : 0),
  syncNow: () => kick(),
};

boot().catch((e) => {
  const p = document.createElement("p");
  p.className = "fatal";
  p.textContent = "无法启动 / cannot start: " + (e && e.message ? e.message : e);
  $("#view").replaceChildren(p);
  document.body.setAttribute("data-app-ready", "1");
});
