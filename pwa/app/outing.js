// Outings: the truck goes out; every log until it ends belongs to that activity.
import * as db from "../lib/db.js";
import * as outbox from "../lib/outbox.js";
import { t, when, iso, dayKey } from "../lib/i18n.js";
import { app, uid, teams, team, kick, backgroundSync, currentOuting } from "./state.js";
import { h, uuid, field } from "./ui.js";

export async function render() {
  const me = uid();
  const key = "outing:" + me;
  const cur = await currentOuting();
  const done = () => {
    location.hash = "#/";
    backgroundSync();
    kick();
  };
  if (cur) {
    return h("section", { class: "card" },
      h("h2", { text: t("outing.running") }),
      h("p", { class: "big-text", text: cur.title }),
      h("p", { class: "meta", text: t("outing.since", { time: when(cur.data.started_at) }) }),
      h("button", { class: "btn big", type: "button", tid: "outing-end",
        text: t(cur.joined ? "outing.leave" : "outing.end"),
        onclick: async () => {
          // Only the leader may end the activity on the server; a member just stops using it.
          if (!cur.joined) await outbox.putActivity(me, { ...cur.data, ended_at: iso(new Date(), app.tz) });
          await db.del("meta", key);
          done();
        } }));
  }
  const open = (app.ref.activities || []).filter((a) => !a.ended_at);
  const join = open.length > 0 && h("div", { class: "card" },
    h("h2", { text: t("outing.open") }),
    open.map((a) => h("p", {}, h("b", { text: a.title }), " ", a.place || "", " ",
      h("button", { type: "button", class: "btn", tid: "outing-join", "data-id": a.id, text: t("outing.join"),
        onclick: async () => {
          await db.setMeta(key, { id: a.id, team_id: a.team_id, title: a.title, members: [], data: a, joined: true });
          done();
        } }))));
  const lastTeam = await db.getMeta("team:" + me);
  let tm = team(lastTeam);
  if (!tm) return h("p", { class: "card", text: t("log.needSync") });
  const title = h("input", { type: "text", maxLength: 100, tid: "outing-title",
    value: t("outing.defaultTitle", { date: dayKey(new Date(), app.tz).slice(5) }) });
  const members = h("fieldset", { class: "checks" });
  const fill = () => members.replaceChildren(
    h("legend", { text: t("outing.members") }),
    ...(tm.members || []).filter((m) => m.id !== me).map((m) =>
      h("label", { class: "check" },
        h("input", { type: "checkbox", tid: "outing-member", "data-user-id": String(m.id), value: String(m.id) }),
        m.name)));
  fill();
  const sel = teams().length > 1 && h("select", { tid: "team-select", onchange: (e) => {
    tm = team(+e.target.value);
    fill();
  } }, teams().map((x) => h("option", { value: String(x.id), selected: x.id === tm.id, text: x.name })));
  const form = h("form", { class: "card", onsubmit: async (ev) => {
      ev.preventDefault();
      const now = new Date();
      const place = (await db.getMeta("place:" + me)) || tm.default_place || tm.name;
      const data = {
        id: uuid(), team_id: tm.id, title: title.value.trim() || t("outing.defaultTitle", { date: "" }),
        date: dayKey(now, app.tz), place, started_at: iso(now, app.tz), ended_at: null,
      };
      // Written before anything else, like a record; the members only preselect companions.
      try {
        await outbox.putActivity(me, data);
      } catch (e) {
        if (db.isQuotaError(e)) app.storageFull = true;
        app.banners();
        return;
      }
      const picked = [...members.querySelectorAll("input:checked")].map((x) => +x.value);
      await db.setMeta(key, { id: data.id, team_id: tm.id, title: data.title, members: picked, data });
      done();
    } },
    h("h2", { text: t("outing.start") }),
    sel && field(t("log.team"), sel),
    field(t("outing.title"), title),
    members,
    h("button", { class: "btn big primary", type: "submit", tid: "outing-start", text: t("outing.start") }));
  return h("section", {}, join, form);
}
