// My records, each with its state, and my hours.
import * as outbox from "../lib/outbox.js";
import { t, when, hours, dayKey } from "../lib/i18n.js";
import { app, uid, category, catName } from "./state.js";
import { h } from "./ui.js";

const EDITABLE = new Set(["pending", "returned", "invalid", "conflict"]);

export async function render() {
  const all = (await outbox.list(uid())).filter((e) => e.data && e.data.occurred_at);
  all.sort((a, b) => (a.data.occurred_at < b.data.occurred_at ? 1 : -1));
  const month = dayKey(new Date(), app.tz).slice(0, 7);
  let total = 0;
  let inMonth = 0;
  for (const e of all) {
    // Only approved records count (DOMAIN.md), so these hours match the certificate's.
    if (e.state !== "approved") continue;
    total += e.data.duration_min;
    if (dayKey(new Date(e.data.occurred_at), app.tz).startsWith(month)) inMonth += e.data.duration_min;
  }
  return h(
    "section", {},
    h("div", { class: "card hours" },
      h("p", {}, t("records.month"), " ", h("b", { tid: "hours-month", text: hours(inMonth) }), " ", t("unit.h")),
      h("p", {}, t("records.total"), " ", h("b", { tid: "hours-total", text: hours(total) }), " ", t("unit.h"))),
    h("ul", { class: "list records" }, all.length ? all.map(item) : h("li", { class: "empty", text: t("records.none") })),
  );
}

// Which form field a server error is about, in the volunteer's words.
const LABEL = {
  occurred_at: "log.when", duration_min: "log.duration", place: "log.place",
  beneficiaries: "log.beneficiaries", description: "log.note", companions: "log.companions",
  photos: "log.photo", quantity: "log.quantity", category: "log.category", team_id: "log.team",
  activity_id: "nav.outing",
};

function explain(e) {
  if (e.state === "invalid" && e.errors && e.errors.length) {
    return e.errors.map((x) => t("err.field", { field: LABEL[x.field] ? t(LABEL[x.field]) : x.field || "", message: x.message })).join("; ");
  }
  if (e.state === "conflict" && e.reason) return t("conflict." + e.reason);
  return e.message && (e.state === "returned" ? t("records.note", { note: e.message }) : e.message);
}

function item(e) {
  const state = app.uploading.has(e.id) ? "uploading" : e.state;
  const d = e.data;
  const srv = e.server;
  const msg = explain(e);
  return h(
    "li", { class: "rec st-" + state, tid: "record-item", "data-id": e.id, "data-state": state },
    h("p", {}, h("b", { text: catName(category(d.category)) || d.category }), " ",
      h("span", { class: "badge", text: t("state." + state) })),
    h("p", { class: "meta", text: `${when(d.occurred_at)} · ${t("unit.hours", { n: hours(d.duration_min) })} · ${d.place}` }),
    d.description && h("p", { class: "meta", text: d.description }),
    (msg || srv) && h("p", { class: "msg", tid: "record-message", text: [
      msg,
      srv && t("records.server", { status: t("state." + (srv.status === "submitted" ? "uploaded" : srv.status)),
        text: `${when(srv.occurred_at)} ${srv.duration_min}′ ${srv.place} ${srv.description}` }),
    ].filter(Boolean).join(" — ") }),
    EDITABLE.has(e.state) && state !== "uploading" &&
      h("a", { class: "btn", tid: "record-edit", href: "#/log?id=" + e.id, text: t("records.edit") }),
  );
}
