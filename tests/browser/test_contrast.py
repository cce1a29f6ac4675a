"""WCAG AA contrast of every visible text on the field app's screens, measured in Chromium."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import WANG, App

# For each visible element with its own text: its colour and the first opaque background up
# the tree, as [r, g, b] triples; the WCAG ratio is computed below in Python.
COLOURS = """() => {
  const px = (s) => parseFloat(s.fontSize);
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const box = el.getBoundingClientRect();
    if (!own || !box.width || !box.height || getComputedStyle(el).visibility === "hidden") continue;
    let bg = null;
    for (let p = el; p && !bg; p = p.parentElement) {
      const c = rgb(getComputedStyle(p).backgroundColor);
      if (c.length === 3 || c[3] === 1) bg = c.slice(0, 3);
    }
    const s = getComputedStyle(el);
    out.push({
      text: el.textContent.trim().slice(0, 30),
      fg: rgb(s.color).slice(0, 3),
      bg: bg || [255, 255, 255],
      large: px(s) >= 24 || (px(s) >= 18.66 && +s.fontWeight >= 700),
      disabled: !!el.closest("button:disabled"),
    });
  }
  return out;
}"""


def luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a: list[float], b: list[float]) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def low_contrast(app: App) -> list[str]:
    bad = []
    items = app.page.evaluate(COLOURS)
    assert len(items) >= 3, "no text measured"
    for item in items:
        if item["disabled"]:
            continue  # WCAG exempts inactive controls
        need = 3.0 if item["large"] else 4.5
        got = ratio(item["fg"], item["bg"])
        if got < need:
            bad.append(f"{item['text']!r}: {got:.2f} < {need}")
    return bad


def test_every_screen_passes_wcag_aa_contrast(app: App, server):
    app.open("/")
    assert low_contrast(app) == [], "sign-in screen"
    app.sign_in(WANG)
    screens = {"#/": "log-button", "#/log": "save-record", "#/records": "hours-total"}
    screens |= {"#/outing": "outing-start", "#/settings": "sign-out"}
    for route, tid in screens.items():
        app.view(route)
        expect(app.tid(tid).first).to_be_visible()
        assert low_contrast(app) == [], route
