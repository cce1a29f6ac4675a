"""A new app version while the phone is offline: the app keeps working, before and after the
volunteer accepts the update, and the records logged across it upload once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import WANG, App, copy_code_with_change

pytestmark = pytest.mark.browser


def test_update_while_offline_keeps_the_app_working(app: App, server, tmp_path):
    db = server.db
    before = db.record_ids(WANG)
    app.open("/")
    app.sign_in(WANG)
    app.ensure_controlled()
    known = set(app.record_ids())
    old = app.page.evaluate("() => window.fieldlog.version")
    assert old

    # a deploy: the same data served by a server whose app files changed
    server.stop()
    server.start(code_dir=copy_code_with_change(tmp_path / "v2"))
    app.page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
    expect(app.tid("update-banner")).to_be_visible()

    server.stop()  # offline from here on
    app.log_service("before the update")
    app.tid("update-accept").click()
    app.page.wait_for_function("v => window.fieldlog && window.fieldlog.version !== v", arg=old)
    app.wait_ready()
    expect(app.tid("log-button")).to_be_visible()
    assert app.outbox_count() == 1
    app.log_service("after the update")
    app.page.reload()  # an offline start on the new version
    app.wait_ready()
    assert app.page.evaluate("() => window.fieldlog.version") != old
    expect(app.tid("log-button")).to_be_visible()
    app.view("#/")
    expect(app.tid("pending-count")).to_have_text("2")
    ids = [i for i in app.record_ids() if i not in known]
    assert len(ids) == 2

    server.start()
    app.sync()
    for rid in ids:
        app.expect_state(rid, "uploaded")
    assert db.record_ids(WANG) - before == set(ids)
