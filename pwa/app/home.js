// Home: the big 记一笔, what waits to upload, the last sync, the running outing, today's logs.
import * as db from "../lib/db.js";
import * as outbox from "../lib/outbox.js";
import { t, when, hours, dayKey } from "../lib/i18n.js";
import { app, uid, kick, category, catName, currentOuting } from "./state.js";
import { h } from "./ui.js";

export function progressText() {
  const p = app.progress;
  if (!p) return "";
  if (p.total !== undefined) {
    return t(p.what === "photos" ? "sync.photos" : "sync.records", { done: p.done, total: p.total });
  }
  const r = p.result || {};
  if (r.ok) return t("sync.ok");
  if (r.status === 401) return t("sync.relogin");
  if (r.status === 0 || r.retry) return t("sync.offline");
  return r.reason === "signed-out" ? "" : t("sync.failed", { error: r.error || r.status });
}

export const syncButton = () =>
  h("button", {
    class: "btn", tid: "sync-now", text: t("sync.now"), type: "button",
    onclick: (e) => {
      e.currentTarget.disabled = true;
      kick();
    },
  });

export async function render() {
  const me = uid();
  const all = await outbox.list(me);
  const waiting = all.filter((e) => e.queued || outbox.UNSENT.has(e.state)).length;
  const last = await db.getMeta("lastSync:" + me);
  const outing = await currentOuting();
  const today = dayKey(new Date(), app.tz);
  const todays = all
    .filter((e) => e.data && e.data.occurred_at && dayKey(new Date(e.data.occurred_at), app.tz) === today)
    .sort((a, b) => (a.data.occurred_at < b.data.occurred_at ? 1 : -1));

  return h(
    "section", { class: "home" },
    h("p", { class: "hello", text: t("home.hello", { name: app.session.user.name }) }),
    h("a", { class: "btn big primary", href: "#/log", tid: "log-button", text: t("home.log") }),
    outing && h(
      "a", { class: "card outing", href: "#/outing", tid: "outing-current" },
      h("strong", { text: t("outing.running") }), " ", outing.title,
    ),
    h(
      "div", { class: "card status" },
      h("p", {}, t("home.pending"), " ", h("b", { tid: "pending-count", text: String(waiting) })),
      h("p", {}, t("home.lastSync"), " ",
        h("span", { tid: "last-sync", "data-ts": last ? String(last) : "", text: last ? when(last) : t("home.never") })),
      syncButton(),
      h("p", { tid: "sync-progress", class: "progress", role: "status", text: progressText() }),
    ),
    h("h2", { text: t("home.today") }),
    h(
      "ul", { class: "list", tid: "today-list" },
      todays.length
        ? todays.map((e) => h("li", { "data-id": e.id },
            h("b", { text: catName(category(e.data.category)) || e.data.category }), " ",
            when(e.data.occurred_at), " · ", t("unit.hours", { n: hours(e.data.duration_min) }),
            " · ", t("state." + (app.uploading.has(e.id) ? "uploading" : e.state))))
        : h("li", { class: "empty", text: t("home.none") }),
    ),
  );
}
