"""Background Sync: a record logged with the server gone arrives once the service worker's
``sync`` event ("fieldlog-sync") runs, with no page of the app open any more."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import WANG, App, wait_until

pytestmark = pytest.mark.browser


def test_background_sync_uploads_a_record_with_no_page_open(context, app: App, server):
    before = server.db.record_ids(WANG)
    app.open("/")
    app.sign_in(WANG)
    app.ensure_controlled()

    server.stop()  # connections refused: the save cannot upload, it stays in the outbox
    app.log_service("logged offline, sent by background sync")
    assert app.outbox_count() == 1
    app.page.close()  # no page of the app is left; the context (and its worker) stays

    server.start()
    assert server.db.record_ids(WANG) == before, "uploaded before the sync event"

    # A page on another origin, so it cannot be what uploads; DevTools fires the event.
    blank = context.new_page()
    blank.goto("about:blank")
    cdp = context.new_cdp_session(blank)
    registrations: list[dict[str, Any]] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda e: registrations.extend(e["registrations"]),
    )
    cdp.send("ServiceWorker.enable")

    def registration_id() -> str | None:
        blank.wait_for_timeout(50)  # lets Playwright deliver the CDP events
        for r in registrations:
            if r["scopeURL"] == server.url + "/" and not r.get("isDeleted"):
                return r["registrationId"]
        return None

    reg = wait_until(registration_id, 15, "the app's service worker registration")
    assert server.db.record_ids(WANG) == before, "uploaded before the sync event"
    cdp.send(
        "ServiceWorker.dispatchSyncEvent",
        {"origin": server.url, "registrationId": reg, "tag": "fieldlog-sync", "lastChance": False},
    )

    new = wait_until(
        lambda: server.db.record_ids(WANG) - before, 20, "the record to arrive by background sync"
    )
    assert len(new) == 1, new
    blank.wait_for_timeout(1000)  # nothing else arrives afterwards (no second copy)
    assert server.db.record_ids(WANG) - before == new
    rows = server.db.records(new)
    assert [r["version"] for r in rows.values()] == [1]
    cdp.detach()
