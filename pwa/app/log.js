// Log a service (or fix one): a tile, a duration, save. The record goes into the outbox before
// anything else happens to it.
import * as db from "../lib/db.js";
import * as outbox from "../lib/outbox.js";
import { t, iso, toLocalInput, fromLocalInput } from "../lib/i18n.js";
import {
  app, uid, teams, team, categories, category, catName, unitName, kick, backgroundSync, currentOuting,
} from "./state.js";
import { h, uuid, field, say } from "./ui.js";

const PICKS = [30, 60, 120, 240];
const EDITABLE = new Set(["pending", "returned", "invalid", "conflict"]);

export async function render(params) {
  const me = uid();
  const id = params.get("id");
  const existing = id ? await outbox.get(id) : null;
  if (id && (!existing || existing.author !== me || !EDITABLE.has(existing.state))) {
    return h("p", { class: "card", tid: "form-error", text: t("log.notEditable") });
  }
  const d = existing ? existing.data : {};
  const outing = existing ? null : await currentOuting();
  const lastTeam = await db.getMeta("team:" + me);
  const lastPlace = await db.getMeta("place:" + me);
  const s = {
    team: team(d.team_id || (outing && outing.team_id) || lastTeam),
    code: d.category || null,
    photos: [],
    pos: null,
  };
  if (!s.team || !categories().length) {
    return h("section", { class: "card" }, h("p", { text: t("log.needSync") }));
  }

  const tiles = h("div", { class: "tiles", role: "group", "aria-label": t("log.category") });
  const duration = h("input", {
    type: "number", inputMode: "numeric", min: "1", max: "1440", tid: "duration-input",
    "aria-label": t("log.duration"),
    value: String(d.duration_min || 60),
  });
  const picks = PICKS.map((m) =>
    h("button", {
      type: "button", class: "pick", tid: "duration-pick", "data-min": String(m),
      text: m < 60 ? t("unit.min", { n: m }) : t("unit.hours", { n: m / 60 }),
      onclick: () => {
        duration.value = String(m);
        mark();
      },
    }),
  );
  const mark = () => {
    for (const p of picks) p.setAttribute("aria-pressed", String(p.dataset.min === duration.value));
    for (const b of tiles.children) b.setAttribute("aria-pressed", String(b.dataset.code === s.code));
    const c = category(s.code);
    qtyField.hidden = !(c && c.quantity_unit);
    if (c && c.quantity_unit) qtyUnit.textContent = unitName(c);
    note.placeholder = c ? catName(c) : t("log.notePh");
  };
  duration.addEventListener("input", mark);

  const benef = h("input", {
    type: "number", inputMode: "numeric", min: "0", max: "10000", tid: "beneficiaries-value",
    "aria-labelledby": "benef-l",
    value: String(d.beneficiaries ?? 1),
  });
  const step = (k) => () => {
    benef.value = String(Math.max(0, Math.min(10000, (parseInt(benef.value, 10) || 0) + k)));
  };
  const place = h("input", {
    type: "text", maxLength: 100, tid: "place-input", autocomplete: "off",
    value: d.place || lastPlace || s.team.default_place || "",
  });
  const note = h("textarea", { rows: 2, maxLength: 500, tid: "note-input" });
  note.value = d.description || "";
  const qty = h("input", {
    type: "number", inputMode: "decimal", min: "0", step: "any", tid: "quantity-input",
    value: d.quantity == null ? "" : String(d.quantity),
  });
  const qtyUnit = h("span", { class: "unit" });
  const qtyField = field(t("log.quantity"), h("span", { class: "row" }, qty, qtyUnit));
  const when = h("input", {
    type: "datetime-local", tid: "time-input",
    value: d.occurred_at ? toLocalInput(new Date(d.occurred_at), app.tz) : "",
  });
  const companions = h("fieldset", { class: "checks" });
  const teamSel = teams().length > 1 &&
    h("select", { tid: "team-select", onchange: (e) => {
      s.team = team(+e.target.value);
      place.value = lastPlace || s.team.default_place || place.value;
      fill();
    } }, teams().map((x) => h("option", { value: String(x.id), selected: x.id === s.team.id, text: x.name })));

  const checked = new Set(d.companions || (outing && outing.members) || []);
  function fill() {
    // The team's own categories first, in its order; then the rest by the admin's order.
    const pref = s.team.preferred_categories || [];
    const rank = (c) => (pref.includes(c.code) ? pref.indexOf(c.code) : 1000 + (c.sort_order || 0));
    const cats = categories().filter((c) => c.active !== false || c.code === s.code);
    tiles.replaceChildren(
      ...cats.sort((a, b) => rank(a) - rank(b)).map((c) =>
        h("button", {
          type: "button", class: "tile", tid: "category-tile", "data-code": c.code, text: catName(c),
          onclick: () => {
            s.code = c.code;
            mark();
          },
        }),
      ),
    );
    const members = (s.team.members || []).filter((m) => m.id !== uid());
    companions.replaceChildren(
      h("legend", { text: t("log.companions") }),
      ...members.map((m) =>
        h("label", { class: "check" },
          h("input", { type: "checkbox", tid: "companion-option", "data-user-id": String(m.id),
            value: String(m.id), checked: checked.has(m.id) }),
          m.name),
      ),
    );
    companions.hidden = !members.length;
    mark();
  }
  fill();

  const photoList = h("ul", { class: "photos" });
  const consent = h("input", { type: "checkbox", tid: "photo-consent", checked: !!d.photo_consent });
  const consentField = h("label", { class: "check", hidden: true }, consent, t("log.consent"));
  const photoInput = h("input", {
    type: "file", accept: "image/*", capture: "environment", tid: "photo-input",
    onchange: (e) => {
      // Save waits for this: on a slow phone the shrink can outlast a quick tap on 保存.
      s.shrinking = Promise.all([s.shrinking, shrink([...e.target.files])]);
      e.target.value = "";
    },
  });
  async function shrink(files) {
    for (const f of files) {
      try {
        const p = await (await import("../lib/photo.js")).prepare(f);
        if (!s.photos.some((x) => x.sha === p.sha)) s.photos.push(p);
      } catch (err) {
        say(error, t(err.message === "https" ? "log.photoHttps" : "log.photoBad"));
      }
    }
    photoList.replaceChildren(
      ...s.photos.map((p) => h("li", {}, h("img", { src: URL.createObjectURL(p.blob), alt: t("log.photo") }))),
    );
    consentField.hidden = !s.photos.length && !(d.photos || []).length;
  }
  consentField.hidden = !(d.photos || []).length;

  // Position when the phone allows it; saving never waits for it.
  if (!existing && navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(
      (p) => (s.pos = p.coords),
      () => {},
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 300000 },
    );
  }

  const error = h("p", { class: "error", tid: "form-error", role: "alert", hidden: true });
  const save = h("button", { type: "submit", class: "btn big primary", tid: "save-record", text: t("log.save") });

  async function onSubmit(ev) {
    ev.preventDefault();
    if (s.shrinking) await s.shrinking;
    const c = category(s.code);
    const dur = parseInt(duration.value, 10);
    const ben = parseInt(benef.value, 10);
    const q = qty.value === "" ? null : Number(qty.value);
    const problem =
      (!c && t("log.errCategory")) ||
      (!(dur >= 1 && dur <= 1440) && t("log.errDuration")) ||
      (!(ben >= 0 && ben <= 10000) && t("log.errBenef")) ||
      (!place.value.trim() && t("log.errPlace")) ||
      (c.quantity_unit && q != null && !(q >= 0 && q <= 1e6) && t("log.errQty"));
    say(error, problem);
    if (problem) return;
    save.disabled = true;
    const now = new Date();
    // A chosen start time means it is entered afterwards; otherwise it just ended.
    const start = when.value ? fromLocalInput(when.value, app.tz) : new Date(now - dur * 60000);
    const photos = [...new Set([...(d.photos || []), ...s.photos.map((p) => p.sha)])].slice(0, 9);
    const pos = s.pos;
    const data = {
      id: existing ? existing.id : uuid(),
      team_id: s.team.id,
      category: c.code,
      activity_id: existing ? d.activity_id ?? null : (outing && outing.team_id === s.team.id && outing.id) || null,
      occurred_at: existing && when.value === toLocalInput(new Date(d.occurred_at), app.tz) ? d.occurred_at : iso(start, app.tz),
      duration_min: dur,
      place: place.value.trim(),
      place_unit_id: existing && d.place === place.value.trim() ? d.place_unit_id ?? null : null,
      beneficiaries: ben,
      description: note.value.trim() || catName(c),
      companions: [...companions.querySelectorAll("input:checked")].map((x) => +x.value),
      photos,
      photo_consent: photos.length ? consent.checked : false,
      quantity: c.quantity_unit ? q : null,
      lat: existing ? d.lat ?? null : pos ? pos.latitude : null,
      lng: existing ? d.lng ?? null : pos ? pos.longitude : null,
      accuracy_m: existing ? d.accuracy_m ?? null : pos ? Math.round(pos.accuracy) : null,
      source: existing ? d.source : when.value ? "backfill" : "live",
      created_at: existing ? d.created_at : iso(now, app.tz),
    };
    // An edit of what the server has goes with the version it edits; a record the server
    // never stored (invalid) is simply sent again under its id.
    const base = existing && (existing.state === "conflict" && existing.server ? existing.server.version : existing.version);
    if (base) data.base_version = base;
    try {
      await outbox.put(uid(), data, s.photos);
    } catch (e) {
      save.disabled = false;
      if (db.isQuotaError(e)) {
        app.storageFull = true;
        app.banners();
        say(error, t("banner.storageFull"));
      } else say(error, t("log.saveFailed", { error: e.message || e }));
      return;
    }
    db.setMeta("place:" + uid(), data.place).catch(() => {});
    db.setMeta("team:" + uid(), data.team_id).catch(() => {});
    location.hash = "#/";
    backgroundSync();
    kick();
  }

  return h(
    "form", { class: "log", novalidate: true, onsubmit: onSubmit },
    h("h2", { text: t(existing ? "log.editTitle" : "log.title") }),
    existing && existing.message && h("p", { class: "note", text: existing.message }),
    outing && h("p", { class: "note", text: t("log.inOuting", { title: outing.title }) }),
    teamSel && field(t("log.team"), teamSel),
    tiles,
    h("div", { class: "field" }, h("span", { class: "lbl", text: t("log.duration") }),
      h("div", { class: "picks" }, picks), duration),
    h("div", { class: "field" }, h("span", { class: "lbl", id: "benef-l", text: t("log.beneficiaries") }),
      h("div", { class: "stepper", role: "group", "aria-labelledby": "benef-l" },
        h("button", { type: "button", class: "pick", tid: "beneficiaries-minus", "aria-label": "−1", text: "−", onclick: step(-1) }),
        benef,
        h("button", { type: "button", class: "pick", tid: "beneficiaries-plus", "aria-label": "+1", text: "+", onclick: step(1) }))),
    field(t("log.place"), place),
    qtyField,
    field(t("log.note"), note),
    companions,
    field(t("log.photo"), photoInput),
    photoList,
    consentField,
    field(t("log.when"), when, h("small", { text: t("log.whenHint") })),
    error,
    save,
  );
}
