"""The field app's budget, measured in headless Chromium against the real server.

* app shell: every HTML, CSS, JS and manifest file the page and its service worker load (not
  icons or other images), as the server sends them compressed (``Accept-Encoding: gzip, br``);
  budget 50 KB (50,000 bytes) in total;
* first load, time to usable (``body[data-app-ready="1"]`` and the login or home view visible, at
  the next frame) over emulated slow 3G (400 ms round trip, 400 kbit/s both ways) with 4x CPU
  slowdown, in a fresh profile; budget 3 s;
* offline start, time to usable after a first visit and sign-in with the server process stopped,
  by reload (median of 3, with and without 4x CPU slowdown); budget 1 s.

Times are ``performance.now()`` in the page, i.e. from the start of the navigation.

    .venv/bin/python bench/pwa_load.py [--check] [--verbose]

``--check`` exits 1 when a budget is missed. Bounded: about a minute.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import (  # noqa: E402
    WANG,
    App,
    LiveServer,
    launch_browser,
    require_chromium,
)

SHELL_BUDGET = 50_000
FIRST_LOAD_BUDGET_S = 3.0
OFFLINE_BUDGET_S = 1.0
SLOW_3G = {
    "offline": False,
    "latency": 400,  # ms, added to each round trip
    "downloadThroughput": 400_000 / 8,  # bytes/s
    "uploadThroughput": 400_000 / 8,
}
SHELL_TYPES = ("text/html", "text/css", "javascript", "manifest", "application/json")

# Marks the moment the app is usable: ready flag set and the login or home view visible,
# taken at the next animation frame (so after styles apply and a frame can be painted).
USABLE_PROBE = """
(() => {
  let armed = false;
  const check = () => {
    if (armed || window.__usableAt) return;
    const b = document.body;
    if (!b || b.dataset.appReady !== '1') return;
    const el = document.querySelector(
      '[data-testid="login-phone"], [data-testid="log-button"]');
    if (!el) return;
    const r = el.getBoundingClientRect();
    if (r.width <= 0 || r.height <= 0 || getComputedStyle(el).visibility === 'hidden') return;
    armed = true;
    requestAnimationFrame(() => { window.__usableAt = performance.now(); });
  };
  new MutationObserver(check).observe(document,
    {subtree: true, childList: true, attributes: true});
  document.addEventListener('DOMContentLoaded', check);
  window.addEventListener('load', check);
})();
"""


def usable_after(page, navigate, timeout_ms: int = 60_000) -> float:
    navigate()
    page.wait_for_function("() => window.__usableAt", timeout=timeout_ms)
    return page.evaluate("() => window.__usableAt") / 1000


def shell_bytes(browser, server: LiveServer, verbose: bool) -> tuple[int, int]:
    ctx = browser.new_context(base_url=server.url)
    urls: set[str] = set()

    def seen(response) -> None:
        url = response.url
        kind = (response.headers.get("content-type") or "").lower()
        path = url.removeprefix(server.url).split("?")[0]
        if path.startswith(("/api/", "/schema")) or not url.startswith(server.url):
            return
        if any(t in kind for t in SHELL_TYPES):
            urls.add(url.split("#")[0])

    ctx.on("response", seen)
    page = ctx.new_page()
    app = App(page, server)
    app.open("/")
    app.sw_activated()  # the worker has installed and fetched what it precaches
    manifest = page.evaluate(
        "() => { const l = document.querySelector('link[rel=manifest]'); return l && l.href }"
    )
    urls.update(u for u in (manifest, server.url + "/sw.js") if u)
    ctx.close()

    total = 0
    for url in sorted(urls):
        with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip, br"}) as r:
            size = sum(len(chunk) for chunk in r.iter_raw())
            encoding = r.headers.get("content-encoding", "identity")
        total += size
        if verbose:
            print(f"  {size:>8,} B  {encoding:<8}  {url.removeprefix(server.url)}")
    return total, len(urls)


def first_load(browser, server: LiveServer) -> float:
    ctx = browser.new_context(base_url=server.url)
    ctx.add_init_script(USABLE_PROBE)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    try:
        return usable_after(page, lambda: page.goto(server.url + "/", wait_until="commit"))
    finally:
        ctx.close()


def offline_starts(browser, server: LiveServer, runs: int = 3) -> tuple[list[float], list[float]]:
    ctx = browser.new_context(base_url=server.url)
    ctx.add_init_script(USABLE_PROBE)
    page = ctx.new_page()
    app = App(page, server)
    app.open("/")
    app.sign_in(WANG)
    app.ensure_controlled()
    server.stop()
    plain, slow = [], []
    try:
        for _ in range(runs):
            plain.append(usable_after(page, page.reload))
        cdp = ctx.new_cdp_session(page)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
        for _ in range(runs):
            slow.append(usable_after(page, page.reload))
    finally:
        ctx.close()
        server.start()
    return plain, slow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    parser.add_argument("--verbose", action="store_true", help="list the shell files")
    args = parser.parse_args()

    require_chromium_or_exit()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="fieldlog-bench-") as tmp:
        server = LiveServer(Path(tmp))
        server.prepare()
        server.start()
        try:
            with sync_playwright() as pw:
                browser = launch_browser(pw)
                if args.verbose:
                    print("app shell files:")
                shell, files = shell_bytes(browser, server, args.verbose)
                first = first_load(browser, server)
                plain, slow = offline_starts(browser, server)
                browser.close()
        finally:
            server.stop()

    rows = [
        (f"app shell, compressed ({files} files)", f"{shell / 1000:.1f} KB", "50 KB",
         shell <= SHELL_BUDGET),
        ("first load, slow 3G + 4x CPU", f"{first:.2f} s", "3 s", first <= FIRST_LOAD_BUDGET_S),
        ("offline start (median of 3)", f"{statistics.median(plain):.2f} s", "1 s",
         statistics.median(plain) <= OFFLINE_BUDGET_S),
        ("offline start, 4x CPU (median of 3)", f"{statistics.median(slow):.2f} s", "1 s",
         statistics.median(slow) <= OFFLINE_BUDGET_S),
    ]  # fmt: skip
    print(f"{'measure':<40} {'value':>10} {'budget':>8}  ok")
    for name, value, budget, ok in rows:
        print(f"{name:<40} {value:>10} {budget:>8}  {'yes' if ok else 'NO'}")
    print(f"(shell {shell:,} bytes; offline starts {', '.join(f'{t:.2f}' for t in plain)} s; "
          f"with 4x CPU {', '.join(f'{t:.2f}' for t in slow)} s)")  # fmt: skip
    missed = not all(ok for *_, ok in rows)
    return 1 if args.check and missed else 0


def require_chromium_or_exit() -> None:
    try:
        require_chromium()
    except BaseException as exc:  # pytest.fail raises outside a test too
        print(f"bench/pwa_load.py: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    sys.exit(main())
