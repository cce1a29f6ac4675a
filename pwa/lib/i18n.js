// Strings and times. zh-CN unless the browser prefers English; the volunteer can switch in
// settings. Times are shown and sent in the deployment's zone (Asia/Shanghai by default),
// whatever zone the phone is set to. No DOM at module level: the service worker imports it.
let dict = {};
export let lang = "zh-CN";
export let tz = "Asia/Shanghai";

export function pickLang(saved) {
  if (saved === "zh-CN" || saved === "en") return saved;
  for (const l of navigator.languages || [navigator.language || ""]) {
    if (/^zh/i.test(l)) return "zh-CN";
    if (/^en/i.test(l)) return "en";
  }
  return "zh-CN";
}

export async function load(l, zone) {
  if (zone) tz = zone;
  const res = await fetch(new URL(`../app/i18n/${l}.json`, import.meta.url));
  dict = await res.json();
  lang = l;
  document.documentElement.lang = l;
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
}

export function t(key, vars) {
  let s = dict[key] ?? key;
  if (vars) for (const k in vars) s = s.split(`{${k}}`).join(String(vars[k]));
  return s;
}

const fmt = (opts) => new Intl.DateTimeFormat(lang, { timeZone: tz, ...opts });

export function when(value) {
  if (!value && value !== 0) return "";
  return fmt({ month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" }).format(
    new Date(value),
  );
}

export const hours = (min) => String(Math.round((min / 60) * 10) / 10);

const pad = (n) => String(n).padStart(2, "0");

// Minutes east of UTC of zone tz at the instant date.
export function offsetMin(date, tz) {
  if (!tz) return -date.getTimezoneOffset();
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(date);
  const g = (t) => +parts.find((x) => x.type === t).value;
  const wall = Date.UTC(g("year"), g("month") - 1, g("day"), g("hour"), g("minute"), g("second"));
  return Math.round((wall - Math.floor(date.getTime() / 1000) * 1000) / 60000);
}

// RFC 3339 with the zone's offset, e.g. 2026-06-08T10:31:05+08:00 (no tz: the phone's own).
export function iso(date, tz) {
  const off = offsetMin(date, tz);
  const a = Math.abs(off);
  const wall = new Date(date.getTime() + off * 60000).toISOString().slice(0, 19);
  return `${wall}${off < 0 ? "-" : "+"}${pad((a / 60) | 0)}:${pad(a % 60)}`;
}

export const dayKey = (date, tz) => iso(date, tz).slice(0, 10);
export const toLocalInput = (date, tz) => iso(date, tz).slice(0, 16);

// "YYYY-MM-DDTHH:MM" read as wall time in tz.
export function fromLocalInput(value, tz) {
  const guess = new Date(value + ":00Z");
  const first = guess.getTime() - offsetMin(guess, tz) * 60000;
  return new Date(guess.getTime() - offsetMin(new Date(first), tz) * 60000);
}
