"""First visit, a day with the server gone (reload, log, close and reopen the browser), the way
back; the service worker's hands off POST and PUT; and a browser with no service worker."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LI, WANG, App, tiny_png, wait_until

pytestmark = pytest.mark.browser


def test_first_visit_signs_in_and_the_service_worker_controls_the_page(app: App, server):
    app.open("/")
    expect(app.tid("login-phone")).to_be_visible()
    app.sign_in(WANG)
    sw = app.sw_activated()
    assert sw["state"] == "activated"
    assert sw["scope"] == server.url + "/"
    app.ensure_controlled()
    expect(app.tid("log-button")).to_be_visible()  # still signed in after the reload
    r = httpx.get(server.url + "/sw.js")
    assert r.status_code == 200
    assert "no-cache" in r.headers.get("cache-control", "")


def test_server_down_reload_log_reopen_then_every_record_arrives_once(profile, server):
    db = server.db
    before = db.record_ids(WANG)
    photo = tiny_png()

    ctx = profile()
    app = App(ctx.pages[0] if ctx.pages else ctx.new_page(), server)
    app.open("/")
    app.sign_in(WANG)
    app.ensure_controlled()
    known = set(app.record_ids())

    server.stop()  # the process is gone: connections are refused, not just "offline"
    app.view("#/")
    app.page.reload()
    app.wait_ready()
    expect(app.tid("log-button")).to_be_visible()
    app.log_service("offline one")
    app.log_service("offline two, with a photo", photo=photo)
    app.log_service("offline three", duration=30)
    app.view("#/")
    expect(app.tid("pending-count")).to_have_text("3")
    assert app.outbox_count() == 3
    ids = [i for i in app.record_ids() if i not in known]
    assert len(ids) == 3, f"expected 3 new records in the list, got {ids}"
    for rid in ids:
        expect(app.item(rid)).to_have_attribute("data-state", "pending")

    # the browser closed and reopened on the same profile, the server still down
    ctx.close()
    ctx = profile()
    app = App(ctx.pages[0] if ctx.pages else ctx.new_page(), server)
    app.open("/")
    expect(app.tid("log-button")).to_be_visible()
    expect(app.tid("pending-count")).to_have_text("3")
    for rid in ids:
        app.expect_state(rid, "pending")

    # the server back: everything arrives exactly once
    server.start()
    app.view("#/")
    app.tid("sync-now").click()
    for rid in ids:
        app.expect_state(rid, "uploaded")
    app.view("#/")
    expect(app.tid("pending-count")).to_have_text("0")
    assert db.record_ids(WANG) - before == set(ids)
    rows = db.records(ids)
    assert len(rows) == 3
    assert all(r["version"] == 1 and r["status"] == "submitted" for r in rows.values())
    with_photo = [rid for rid, r in rows.items() if r["photos"]]
    assert len(with_photo) == 1, rows
    wait_until(
        lambda: not db.records(with_photo)[with_photo[0]]["missing_media"],
        20,
        "the photo to arrive (missing_media false)",
    )
    assert (
        db.fetch("SELECT count(*) AS n FROM record_photo WHERE record = ?", with_photo[0])[0]["n"]
        == 1
    )


def test_service_worker_never_answers_post_or_put(context, app: App, server):
    writes = []
    context.on(
        "response",
        lambda r: writes.append(r) if r.request.method in {"POST", "PUT"} else None,
    )
    before = server.db.record_ids(LI)
    app.open("/")
    app.sign_in(LI)
    app.ensure_controlled()
    app.log_service("online, photo", photo=tiny_png(40, 40))
    app.sync()
    new = wait_until(lambda: server.db.record_ids(LI) - before, 15, "the record to arrive")
    rid = next(iter(new))
    wait_until(lambda: not server.db.records([rid])[rid]["missing_media"], 20, "the photo")
    urls = [(r.request.method, r.url) for r in writes]
    assert any(m == "POST" and "/api/v1/sync/push" in u for m, u in urls), urls
    assert any(m == "PUT" and "/api/v1/photos/" in u for m, u in urls), urls
    served = [(r.request.method, r.url) for r in writes if r.from_service_worker]
    assert served == [], f"the service worker answered writes: {served}"


def test_without_service_worker_app_works_online_and_says_so(browser, server):
    ctx = browser.new_context(base_url=server.url, locale="zh-CN", service_workers="block")
    try:
        app = App(ctx.new_page(), server)
        before = server.db.record_ids(LI)
        app.open("/")
        expect(app.tid("nosw-banner")).to_be_visible()
        app.sign_in(LI)
        app.log_service("no service worker")
        app.sync()
        new = wait_until(lambda: server.db.record_ids(LI) - before, 15, "the record to arrive")
        assert len(new) == 1
        app.expect_state(next(iter(new)), "uploaded")
        expect(app.tid("nosw-banner")).to_be_visible()
    finally:
        ctx.close()
