// Settings: language, storage, sync now, sign out, version.
import * as db from "../lib/db.js";
import * as outbox from "../lib/outbox.js";
import * as i18n from "../lib/i18n.js";
import { t } from "../lib/i18n.js";
import { app, uid, loadSession } from "./state.js";
import { syncButton, progressText } from "./home.js";
import { h } from "./ui.js";

const mb = (n) => (n / 1048576).toFixed(1);

export async function render() {
  const st = navigator.storage;
  const est = st && st.estimate ? await st.estimate().catch(() => null) : null;
  const persisted = st && st.persisted ? await st.persisted().catch(() => false) : false;
  const unsent = (await outbox.unsent(uid())).length;

  const persist = h("p", { tid: "persist-status", text: t(persisted ? "settings.persistYes" : "settings.persistNo") });
  const ask = !persisted && st && st.persist &&
    h("button", { type: "button", class: "btn", text: t("settings.persistAsk"), onclick: async () => {
      const ok = await st.persist().catch(() => false);
      persist.textContent = t(ok ? "settings.persistYes" : "settings.persistRefused");
    } });

  const warn = h("div", { class: "banner warn", tid: "signout-warning", hidden: true },
    h("p", { text: t("settings.signoutWarn", { n: unsent }) }),
    h("button", { type: "button", class: "btn", tid: "signout-confirm", text: t("settings.signoutConfirm"), onclick: signOut }),
    h("button", { type: "button", class: "btn", tid: "signout-cancel", text: t("settings.cancel"),
      onclick: () => (warn.hidden = true) }));

  return h("section", { class: "settings" },
    h("div", { class: "card" },
      h("p", { text: `${app.session.user.name} ${app.session.user.phone_masked || ""}` }),
      h("label", { class: "field" }, h("span", { class: "lbl", text: t("settings.lang") }),
        h("select", { tid: "lang-select", onchange: async (e) => {
          await db.setMeta("lang", e.target.value);
          await i18n.load(e.target.value);
          app.render();
        } },
          h("option", { value: "zh-CN", selected: i18n.lang === "zh-CN", text: "中文" }),
          h("option", { value: "en", selected: i18n.lang === "en", text: "English" })))),
    h("div", { class: "card" },
      h("p", { tid: "storage-info", text: est ? t("settings.storage", { used: mb(est.usage || 0), quota: mb(est.quota || 0) }) : t("settings.storageUnknown") }),
      persist, ask),
    h("div", { class: "card" }, syncButton(), h("p", { tid: "sync-progress", role: "status", text: progressText() })),
    h("div", { class: "card" },
      h("button", { type: "button", class: "btn", tid: "sign-out", text: t("settings.signout"),
        onclick: () => (unsent ? (warn.hidden = false) : signOut()) }),
      warn),
    h("p", { class: "meta" }, t("settings.version"), " ", h("span", { tid: "app-version", text: app.version })),
  );
}

// The token goes; the records stay on the phone, tied to their author, and go up when that
// person signs in again.
async function signOut() {
  await db.setMeta("session", null);
  await loadSession();
  location.hash = "#/login";
  app.render();
}
