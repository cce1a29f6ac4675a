"""The field app's own behaviour (issue 3), beyond the offline day and the sync faults: upload
starting by itself and backing off, progress, a full disk, the no-service-worker and iOS
banners, the stale warning, storage, the 3-tap log, photos shrunk on the phone, GPS, quantity,
outings, accessibility at 320 px and with text zoom, language, and hours."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LI, SEQ, TIMEOUT_MS, WANG, App, wait_until

pytestmark = pytest.mark.browser

ZHAO = "13900000013"  # 赵红梅: team NC-ZHL-T; no other browser test signs her in
PUSH = "**/api/v1/sync/push"
WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI "
    "Language/zh_CN"
)
IOS_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


# --- helpers --------------------------------------------------------------------------------


@contextlib.contextmanager
def new_app(browser: Any, server: Any, **kw: Any) -> Iterator[App]:
    """A fresh context (own storage) with options; ``service_workers="block"`` keeps Background
    Sync out of tests that watch the page's own upload triggers."""
    kw.setdefault("locale", "zh-CN")
    ctx = browser.new_context(base_url=server.url, **kw)
    ctx.set_default_timeout(TIMEOUT_MS)
    try:
        yield App(ctx.new_page(), server)
    finally:
        ctx.close()


def pump_until(page: Any, check: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """``wait_until`` that lets Playwright deliver events (route handlers) while polling."""
    return wait_until(check, timeout, what, pause=lambda: page.wait_for_timeout(50))


def new_records(server: Any, phone: str, before: set[str], n: int) -> list[str]:
    got = wait_until(
        lambda: (lambda s: s if len(s) >= n else None)(server.db.record_ids(phone) - before),
        15,
        f"{n} new record(s) of {phone} on the server",
    )
    assert len(got) == n, got
    return sorted(got)


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A valid RGB PNG, made quickly: a shifting gradient, or random noise (hard to compress)."""
    if noise:
        raw = b"".join(b"\x00" + os.urandom(width * 3) for _ in range(height))
    else:
        base = bytes((i * 7 + (i // 3) * 3) % 256 for i in range(width * 3 + 3 * 256))
        rows = (base[3 * (y % 256) : 3 * (y % 256) + 3 * width] for y in range(height))
        raw = b"".join(b"\x00" + row for row in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 1))
        + chunk(b"IEND", b"")
    )


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's SOFn segment."""
    assert data[:3] == b"\xff\xd8\xff", "not a JPEG"
    i = 2
    while i < len(data):
        assert data[i] == 0xFF, f"bad JPEG marker at {i}"
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no SOF segment in the JPEG")


def warm(app: App) -> None:
    """Without a service worker the views that load on first use must be opened once while
    online (they stay in memory while the page is open)."""
    views = {"#/log": "save-record", "#/records": "hours-total", "#/settings": "sign-out"}
    for route, tid in views.items():
        app.view(route)
        expect(app.tid(tid)).to_be_visible()
    app.view("#/")
    expect(app.tid("log-button")).to_be_visible()


def tile(app: App, code: str) -> Any:
    return app.page.locator(f'[data-testid="category-tile"][data-code="{code}"]')


def pick(app: App, minutes: int) -> Any:
    return app.page.locator(f'[data-testid="duration-pick"][data-min="{minutes}"]')


# --- upload starts by itself ----------------------------------------------------------------


def test_upload_starts_when_the_network_comes_back(browser, server):
    before = server.db.record_ids(WANG)
    with new_app(browser, server, service_workers="block") as app:
        app.open("/")
        app.sign_in(WANG)
        warm(app)
        app.page.context.set_offline(True)
        app.log_service("logged with no signal")
        app.view("#/")
        expect(app.tid("pending-count")).to_have_text("1")
        assert server.db.record_ids(WANG) == before
        app.page.context.set_offline(False)  # no sync-now: the page hears "online"
        [rid] = new_records(server, WANG, before, 1)
        app.expect_state(rid, "uploaded")
        assert app.outbox_count() == 0


def test_upload_starts_on_app_start(browser, server):
    before = server.db.record_ids(WANG)
    with new_app(browser, server, service_workers="block") as app:
        app.open("/")
        app.sign_in(WANG)
        warm(app)
        server.stop()
        app.log_service("logged with the server gone")
        app.view("#/")
        expect(app.tid("pending-count")).to_have_text("1")
        context = app.page.context
        app.page.close()  # the app is closed: no retry timer is left running
        server.start()
        assert server.db.record_ids(WANG) == before
        again = App(context.new_page(), server)
        again.open("/")  # just opening the app uploads
        [rid] = new_records(server, WANG, before, 1)
        again.expect_state(rid, "uploaded")
        assert again.outbox_count() == 0


def test_retries_back_off(browser, server):
    attempts: list[float] = []

    def refuse(route):
        attempts.append(time.monotonic())
        route.abort("connectionrefused")

    with new_app(browser, server, service_workers="block") as app:
        app.open("/")
        app.sign_in(WANG)
        app.page.route(PUSH, refuse)
        app.log_service("the server cannot be reached")
        pump_until(app.page, lambda: len(attempts) >= 4, 30, "4 push attempts")
        gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)][:3]
        # 2 s · 2^n with jitter (half to all of it): about 1–2 s, 2–4 s, 4–8 s
        assert gaps[0] >= 0.8, gaps
        assert gaps[1] >= 0.8 * gaps[0], gaps
        assert gaps[2] >= 0.8 * gaps[1], gaps
        assert gaps[2] >= 1.5 * gaps[0], f"retries do not back off: {gaps}"
        assert app.outbox_count() == 1


# --- progress ------------------------------------------------------------------------------


def test_progress_is_shown_while_uploading(browser, server):
    before = server.db.record_ids(WANG)
    held: list[Any] = []
    sizes: list[int] = []

    def push(route):
        n = len((route.request.post_data_json or {}).get("records", []))
        sizes.append(n)
        if n > 2:  # "too large": the app halves the batch until two records go at a time
            route.fulfill(status=413, json={"status_code": 413, "extra": {"error": "too_large"}})
        else:
            held.append(route)  # answered below, once the progress has been seen

    with new_app(browser, server, service_workers="block") as app:
        app.open("/")
        app.sign_in(WANG)
        warm(app)
        app.page.context.set_offline(True)
        for i in range(3):
            app.log_service(f"progress {i}")
        app.view("#/")
        expect(app.tid("pending-count")).to_have_text("3")
        app.page.route(PUSH, push)
        app.page.context.set_offline(False)  # "online": the upload starts by itself
        progress = app.tid("sync-progress")
        expect(progress).to_have_text("正在上传 0/3")
        pump_until(app.page, lambda: held, 10, "the first batch")
        held.pop().continue_()
        expect(progress).to_have_text("正在上传 2/3")
        pump_until(app.page, lambda: held, 10, "the second batch")
        held.pop().continue_()
        expect(progress).to_have_text("已同步")
        assert sizes[-2:] == [2, 1], sizes
        new_records(server, WANG, before, 3)
        expect(app.tid("pending-count")).to_have_text("0")


# --- a full disk ---------------------------------------------------------------------------


def test_full_disk_says_so_and_keeps_every_record(browser, server):
    quota = 600_000  # room for the app (about 0.2 MB) and records, not for a photo of noise
    with new_app(browser, server) as app:
        # Chromium applies a quota override only to an origin whose storage is not open yet
        cdp = app.page.context.new_cdp_session(app.page)
        cdp.send("Storage.overrideQuotaForOrigin", {"origin": server.url, "quotaSize": quota})
        app.open("/")
        app.sign_in(WANG)
        app.page.context.set_offline(True)
        app.log_service("kept 1")
        app.log_service("kept 2")
        known = app.record_ids()
        pending = [i for i in known if app.item(i).get_attribute("data-state") == "pending"]
        assert len(pending) == 2
        app.view("#/log")
        tile(app, "irrigation_check").click()
        app.tid("note-input").fill("no room for this one")
        app.tid("photo-input").set_input_files(
            files=[{"name": "p.png", "mimeType": "image/png", "buffer": png(1600, 1600, True)}]
        )
        expect(app.tid("photo-consent")).to_be_visible()
        app.tid("save-record").click()
        expect(app.tid("storage-full")).to_be_visible()
        expect(app.tid("storage-full")).to_contain_text("存储空间已满")
        expect(app.tid("form-error")).to_contain_text("存储空间已满")
        expect(app.tid("save-record")).to_be_visible()  # the form and what was typed stay
        expect(app.tid("note-input")).to_have_value("no room for this one")
        assert app.outbox_count() == 2
        assert sorted(app.record_ids()) == sorted(known)
        for rid in pending:
            expect(app.item(rid)).to_have_attribute("data-state", "pending")
        app.view("#/")
        expect(app.tid("pending-count")).to_have_text("2")
        expect(app.tid("storage-full")).to_be_visible()  # until the volunteer dismisses it


# --- banners -------------------------------------------------------------------------------


def test_wechat_without_service_worker_explains_open_in_browser(browser, server):
    with new_app(browser, server, service_workers="block", user_agent=WECHAT_IOS) as app:
        # WeChat's iOS web view has no navigator.serviceWorker at all
        app.page.add_init_script("delete Navigator.prototype.serviceWorker")
        app.open("/")
        assert app.page.evaluate("() => !('serviceWorker' in navigator)")
        expect(app.tid("nosw-banner")).to_be_visible()
        expect(app.tid("nosw-banner")).to_contain_text("在浏览器中打开")
        expect(app.tid("ios-a2hs-banner")).to_be_hidden()
        app.sign_in(LI)  # and it works online
        expect(app.tid("nosw-banner")).to_be_visible()


def test_ios_safari_explains_add_to_home_screen(browser, server):
    with new_app(browser, server, user_agent=IOS_SAFARI, is_mobile=True, has_touch=True) as app:
        app.open("/")
        banner = app.tid("ios-a2hs-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("添加到主屏幕")
        expect(app.tid("nosw-banner")).to_be_hidden()
        banner.get_by_role("button").click()
        expect(banner).to_be_hidden()
    with new_app(browser, server) as app:  # desktop Chromium: neither banner
        app.open("/")
        expect(app.tid("ios-a2hs-banner")).to_be_hidden()
        expect(app.tid("nosw-banner")).to_be_hidden()


def test_stale_warning_for_unsent_records_older_than_three_days(browser, server):
    start = datetime.now(UTC)
    with new_app(browser, server, service_workers="block") as app:
        app.page.clock.install(time=start)
        app.open("/")
        app.sign_in(WANG)
        warm(app)
        app.page.context.set_offline(True)
        app.log_service("not sent for days")
        app.view("#/")
        expect(app.tid("pending-count")).to_have_text("1")
        expect(app.tid("stale-warning")).to_be_hidden()
        app.page.clock.set_system_time(start + timedelta(days=2, hours=23))
        app.view("#/records")
        app.view("#/")
        expect(app.tid("log-button")).to_be_visible()
        expect(app.tid("stale-warning")).to_be_hidden()
        app.page.clock.set_system_time(start + timedelta(days=3, hours=1))
        app.view("#/records")
        app.view("#/")
        expect(app.tid("stale-warning")).to_be_visible()
        expect(app.tid("stale-warning")).to_contain_text("3 天")


# --- settings ------------------------------------------------------------------------------


def test_settings_show_storage_use_and_persistence(app: App, server):
    app.open("/")
    app.sign_in(WANG)
    app.view("#/settings")
    state = app.page.evaluate(
        """async () => {
            const e = await navigator.storage.estimate();
            return {persisted: await navigator.storage.persisted(), quota: e.quota};
        }"""
    )
    expect(app.tid("persist-status")).to_have_text(
        "已开启持久存储：浏览器不会自动清掉记录"
        if state["persisted"]
        else "未开启持久存储：空间不足时浏览器可能清掉数据"
    )
    info = app.tid("storage-info")
    expect(info).to_contain_text(f"可用 {state['quota'] / 1048576:.1f} MB")
    expect(info).to_have_text(re.compile(r"^已用 \d+\.\d MB，可用 \d+\.\d MB$"))


def test_language_switch_to_english_persists(app: App, server):
    app.open("/")
    app.sign_in(WANG)
    app.view("#/settings")
    app.tid("lang-select").select_option("en")
    expect(app.page.locator(".tabs a[href='#/settings']")).to_have_text("Settings")
    expect(app.tid("sign-out")).to_have_text("Sign out")
    assert app.page.evaluate("() => document.documentElement.lang") == "en"
    app.page.reload()
    app.wait_ready()
    app.view("#/")
    expect(app.tid("log-button")).to_have_text("Log a service")
    expect(app.page.locator("header h1")).to_have_text("Volunteer service log")
    app.view("#/settings")
    expect(app.tid("lang-select")).to_have_value("en")
    app.tid("lang-select").select_option("zh-CN")
    expect(app.tid("sign-out")).to_have_text("退出登录")


# --- logging -------------------------------------------------------------------------------


def test_a_typical_log_takes_three_taps(context, app: App, server):
    before = server.db.record_ids(WANG)
    app.open("/")
    app.sign_in(WANG)
    context.set_offline(True)
    app.view("#/")
    expect(app.tid("pending-count")).to_have_text("0")
    app.tid("log-button").click()  # opens the form
    tile(app, "straw_burning").click()  # 1
    pick(app, 120).click()  # 2
    app.tid("save-record").click()  # 3
    expect(app.tid("log-button")).to_be_visible()
    expect(app.tid("pending-count")).to_have_text("1")
    assert app.outbox_count() == 1
    context.set_offline(False)
    [rid] = new_records(server, WANG, before, 1)
    row = server.db.records([rid])[rid]
    assert row["duration_min"] == 120
    assert row["place"]  # pre-filled
    assert row["description"]  # the category's name when no note is given
    cat = server.db.fetch("SELECT code FROM category WHERE id = ?", row["category"])[0]
    assert cat["code"] == "straw_burning"


def test_photo_is_shrunk_to_a_1600px_jpeg_on_the_phone(app: App, server):
    before = server.db.record_ids(LI)
    app.open("/")
    app.sign_in(LI)
    app.view("#/log")
    tile(app, "irrigation_check").click()
    app.tid("photo-input").set_input_files(
        files=[{"name": "big.png", "mimeType": "image/png", "buffer": png(3000, 2000)}]
    )
    expect(app.tid("photo-consent")).to_be_visible()  # the photo is attached
    app.tid("save-record").click()
    expect(app.tid("save-record")).to_be_hidden()
    app.sync()
    [rid] = new_records(server, LI, before, 1)
    wait_until(lambda: not server.db.records([rid])[rid]["missing_media"], 20, "the photo")
    [sha] = server.db.records([rid])[rid]["photos"].split(",")
    files = list((server.data_dir / "media").rglob(f"{sha}.*"))
    assert len(files) == 1, files
    data = files[0].read_bytes()
    assert files[0].suffix == ".jpg"
    assert hashlib.sha256(data).hexdigest() == sha
    assert jpeg_size(data) == (1600, 1067)
    [photo] = server.db.fetch("SELECT mime FROM photo WHERE sha256 = ?", sha)
    assert photo["mime"] == "image/jpeg"


def test_gps_position_when_permitted(browser, server):
    before = server.db.record_ids(LI)
    where = {"latitude": 34.6836, "longitude": 113.7412, "accuracy": 12}
    with new_app(browser, server, geolocation=where, permissions=["geolocation"]) as app:
        app.open("/")
        app.sign_in(LI)
        app.view("#/log")
        tile(app, "irrigation_check").click()
        # the form asked for a position when it opened; a second ask returns after it
        app.page.evaluate(
            "() => new Promise(ok => navigator.geolocation.getCurrentPosition(ok, ok))"
        )
        app.tid("save-record").click()
        expect(app.tid("save-record")).to_be_hidden()
        app.sync()
        [rid] = new_records(server, LI, before, 1)
        row = server.db.records([rid])[rid]
        assert (row["lat"], row["lng"]) == pytest.approx((34.6836, 113.7412))
        assert row["accuracy_m"] == pytest.approx(12, abs=1)
    before |= {rid}
    with new_app(browser, server, geolocation=where) as app:  # position not permitted
        app.open("/")
        app.sign_in(LI)
        app.log_service("no position allowed")
        app.sync()
        [rid] = new_records(server, LI, before, 1)
        row = server.db.records([rid])[rid]
        assert (row["lat"], row["lng"], row["accuracy_m"]) == (None, None, None)


def test_quantity_only_for_a_category_with_a_unit(app: App, server):
    before = server.db.record_ids(WANG)
    app.open("/")
    app.sign_in(WANG)
    app.view("#/log")
    qty = app.tid("quantity-input")
    tile(app, "irrigation_check").click()
    expect(qty).to_be_hidden()
    tile(app, "straw_burning").click()
    expect(qty).to_be_visible()
    expect(app.page.locator("label.field", has=qty)).to_contain_text("亩")
    tile(app, "irrigation_check").click()
    expect(qty).to_be_hidden()
    tile(app, "straw_burning").click()
    qty.fill("12.5")
    app.tid("save-record").click()
    expect(app.tid("save-record")).to_be_hidden()
    app.sync()
    [rid] = new_records(server, WANG, before, 1)
    assert server.db.records([rid])[rid]["quantity"] == pytest.approx(12.5)


def test_outing_ties_logs_to_one_activity_with_its_members(app: App, server):
    db = server.db
    before = db.record_ids(WANG)
    li, truck = db.user_id(LI), db.team_id("NC-TRUCK")
    app.open("/")
    app.sign_in(WANG)
    app.view("#/outing")
    if app.tid("team-select").count():
        app.tid("team-select").select_option(str(truck))
    app.tid("outing-title").fill("三夏麦收服务")
    app.page.locator(f'[data-testid="outing-member"][data-user-id="{li}"]').check()
    app.tid("outing-start").click()
    expect(app.tid("outing-current")).to_contain_text("三夏麦收服务")
    app.log_service("outing 1")
    app.log_service("outing 2", duration=120)
    app.sync()
    first = new_records(server, WANG, before, 2)
    rows = db.records(first)
    activities = {r["activity"] for r in rows.values()}
    assert len(activities) == 1 and None not in activities, rows
    [act] = activities
    activity = db.fetch("SELECT * FROM activity WHERE id = ?", act)[0]
    assert activity["title"] == "三夏麦收服务"
    assert activity["team"] == truck and activity["ended_at"] is None
    assert all(r["team"] == truck for r in rows.values())
    for rid in first:
        mates = db.fetch('SELECT "user" FROM record_companion WHERE record = ?', rid)
        assert [m["user"] for m in mates] == [li], (rid, mates)

    app.view("#/outing")
    app.tid("outing-end").click()
    expect(app.tid("log-button")).to_be_visible()
    expect(app.tid("outing-current")).to_be_hidden()
    app.log_service("after the outing")
    app.sync()
    [after] = new_records(server, WANG, before | set(first), 1)
    assert db.records([after])[after]["activity"] is None
    assert db.fetch('SELECT "user" FROM record_companion WHERE record = ?', after) == []
    wait_until(
        lambda: db.fetch("SELECT ended_at FROM activity WHERE id = ?", act)[0]["ended_at"],
        15,
        "the outing to end on the server",
    )


# --- accessibility ---------------------------------------------------------------------------

UNLABELLED = """() => [...document.querySelectorAll('#view input, #view select, #view textarea')]
    .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
        && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
    .map(e => e.dataset.testid || e.outerHTML.slice(0, 80))"""

SMALL_TARGETS = """() => {
    const shown = [...document.querySelectorAll('button, a, [role=button]')]
        .map(e => [e.dataset.testid || e.textContent.trim().slice(0, 20),
                   e.getBoundingClientRect()])
        .filter(([, r]) => r.width > 0 && r.height > 0);
    const small = shown.filter(([, r]) => r.width < 48 || r.height < 48)
        .map(([n, r]) => `${n}: ${Math.round(r.width)}x${Math.round(r.height)}`);
    return {checked: shown.length, small};
}"""

H_SCROLL = """() => document.documentElement.scrollWidth - document.documentElement.clientWidth"""


def test_works_at_320px_with_labels_targets_and_text_zoom(browser, server):
    problems: list[str] = []
    with new_app(browser, server, viewport={"width": 320, "height": 640}) as app:
        app.open("/")
        app.sign_in(WANG)
        cdp = app.page.context.new_cdp_session(app.page)
        for zoom in (16, 32):  # the browser's default font size: 100 %, then 200 % text
            cdp.send("Page.setFontSizes", {"fontSizes": {"standard": zoom, "fixed": zoom}})
            app.page.reload()
            app.wait_ready()
            font = app.page.evaluate("() => getComputedStyle(document.body).fontSize")
            assert font == f"{zoom * 1.125:g}px", font  # the text zoom took effect
            for route, ready in (
                ("#/", "log-button"),
                ("#/log", "save-record"),
                ("#/records", "hours-total"),
                ("#/outing", "outing-start"),
                ("#/settings", "sign-out"),
            ):
                app.view(route)
                expect(app.tid(ready)).to_be_visible()
                where = f"{route} at {zoom} px text"
                if route == "#/log":
                    tile(app, "straw_burning").click()  # the quantity field too
                    expect(app.tid("quantity-input")).to_be_visible()
                    unlabelled = app.page.evaluate(UNLABELLED)
                    if unlabelled:
                        problems.append(f"{where}: form fields without a label: {unlabelled}")
                scroll = app.page.evaluate(H_SCROLL)
                if scroll > 0:
                    problems.append(f"{where}: scrolls sideways by {scroll} px")
                targets = app.page.evaluate(SMALL_TARGETS)
                assert targets["checked"] >= 4, targets  # at least the tab bar
                if targets["small"]:
                    problems.append(f"{where}: touch targets under 48 px: {targets['small']}")
    assert problems == [], "\n".join(problems)


# --- hours ---------------------------------------------------------------------------------


def test_hours_this_month_and_in_total(app: App, server):
    """赵红梅 logs four services (one 40 days ago); three are approved and one rejected."""
    db = server.db
    before = db.record_ids(ZHAO)
    app.open("/")
    app.sign_in(ZHAO)
    plan = [(60, None, "approved"), (120, None, "approved"), (30, None, "rejected")]
    plan.append((90, datetime.now(UTC) - timedelta(days=40), "approved"))
    for minutes, when, _ in plan:
        app.view("#/log")
        tile(app, "irrigation_check").click()
        app.tid("duration-input").fill(str(minutes))
        if when is not None:
            local = when + timedelta(hours=8)  # the deployment's zone, Asia/Shanghai
            app.tid("time-input").fill(local.strftime("%Y-%m-%dT%H:%M"))
        app.tid("save-record").click()
        expect(app.tid("save-record")).to_be_hidden()
    app.sync()
    ids = new_records(server, ZHAO, before, 4)
    by_minutes = {r["duration_min"]: rid for rid, r in db.records(ids).items()}
    for minutes, _, status in plan:
        db.with_seq(
            "UPDATE service_record SET status = ?, change_seq = ?, updated_at = ? WHERE id = ?",
            status,
            SEQ,
            db.now(),
            by_minutes[minutes],
        )
    app.sync()
    for minutes, _, status in plan:
        app.expect_state(by_minutes[minutes], status)
    expect(app.tid("hours-month")).to_have_text("3")  # 1 h + 2 h; the rejected 0.5 h is not
    expect(app.tid("hours-total")).to_have_text("4.5")  # and 1.5 h last month


def test_without_a_worker_every_view_opens_after_the_signal_drops(browser, server):
    # No warm(): the app itself must fetch the views while it is online.
    with new_app(browser, server, service_workers="block") as app:
        app.open("/")
        app.sign_in(WANG)
        expect(app.tid("nosw-banner")).to_be_visible()
        app.page.wait_for_load_state("networkidle")
        app.page.context.set_offline(True)
        app.tid("log-button").click()
        expect(app.tid("save-record")).to_be_visible()
        app.view("#/records")
        expect(app.tid("hours-total")).to_be_visible()
        app.view("#/settings")
        expect(app.tid("sign-out")).to_be_visible()
