// Sign in with phone and password, or with a coordinator's enrolment code.
import * as db from "../lib/db.js";
import { api } from "../lib/sync.js";
import { t } from "../lib/i18n.js";
import { app, loadSession, kick } from "./state.js";
import { h, field, say } from "./ui.js";

let lastError = "";

function message(e) {
  if (e.status === 401) return t("login.bad");
  if (e.status === 429) return t("login.tooMany");
  if (e.status === 0) return t("login.offline");
  return t("login.failed", { error: e.message || e.status });
}

async function signedIn(res) {
  lastError = "";
  await db.setMeta("session", { token: res.token, device_id: res.device_id, user: res.user });
  await loadSession();
  // Ask once, at the moment the phone starts holding someone's records.
  if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  location.hash = "#/";
  await app.render();
  kick();
}

export async function enrol(code) {
  try {
    await signedIn(await api("/api/v1/auth/enrol", { method: "POST", json: { code } }));
  } catch (e) {
    lastError = message(e);
    location.hash = "#/login?code=" + encodeURIComponent(code);
  }
}

export async function render(params) {
  const error = h("p", { class: "error", tid: "login-error", role: "alert", text: lastError, hidden: !lastError });
  const phone = h("input", { type: "tel", autocomplete: "username", inputMode: "numeric", tid: "login-phone", required: true });
  const pw = h("input", { type: "password", autocomplete: "current-password", tid: "login-password", required: true });
  const code = h("input", { type: "text", autocomplete: "one-time-code", tid: "enrol-code", value: params.get("code") || "" });
  const go = (fn) => async (ev) => {
    ev.preventDefault();
    const btn = ev.target.querySelector("button");
    btn.disabled = true;
    say(error, "");
    try {
      await signedIn(await fn());
    } catch (e) {
      say(error, message(e));
    }
    btn.disabled = false;
  };
  const expired = app.session && app.session.expired;
  return h("section", { class: "login" },
    expired && h("p", { class: "note", text: t("banner.relogin") }),
    h("form", { class: "card", onsubmit: go(() => api("/api/v1/auth/login", { method: "POST", json: { phone: phone.value.trim(), password: pw.value } })) },
      h("h2", { text: t("login.title") }),
      field(t("login.phone"), phone), field(t("login.password"), pw),
      h("button", { type: "submit", class: "btn big primary", tid: "login-submit", text: t("login.submit") })),
    error,
    h("form", { class: "card", onsubmit: go(() => api("/api/v1/auth/enrol", { method: "POST", json: { code: code.value.trim() } })) },
      h("h2", { text: t("login.enrolTitle") }),
      field(t("login.code"), code),
      h("button", { type: "submit", class: "btn big", tid: "enrol-submit", text: t("login.enrol") })));
}
