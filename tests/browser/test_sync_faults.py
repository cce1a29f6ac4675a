"""What goes wrong between a phone and the server: a lost answer, a revoked sign-in, a record
the server refuses, a record returned by the coordinator, two tabs, a shared phone."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LI, SEQ, WANG, App, wait_until

pytestmark = pytest.mark.browser


def new_ids(app: App, known: set[str], n: int) -> list[str]:
    ids = [i for i in app.record_ids() if i not in known]
    assert len(ids) == n, f"expected {n} new records in the list, got {ids}"
    return ids


def test_answer_lost_after_commit_then_retry_gives_one_row(context, app: App, server):
    db = server.db
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    before = db.record_ids(WANG)
    lost: list[dict] = []
    answers: list[dict] = []

    def push(route):
        response = route.fetch()  # the request reaches the server, which commits
        if not lost:
            lost.append(route.request.post_data_json or {})
            route.abort("connectionreset")  # ... and the answer never reaches the phone
        else:
            answers.append(response.json())
            route.fulfill(response=response)

    context.route("**/api/v1/sync/push", push)
    app.log_service("answer lost")
    app.sync()
    app.sync()
    assert len(lost) == 1
    [rid] = new_ids(app, known, 1)
    assert rid in {r["id"] for r in lost[0].get("records", [])}
    app.sync()
    app.expect_state(rid, "uploaded")
    results = [r for a in answers for r in a.get("results", []) if r["id"] == rid]
    assert results and results[0]["result"] == "duplicate", json.dumps(answers)
    assert db.record_ids(WANG) - before == {rid}
    assert db.records([rid])[rid]["version"] == 1


def test_401_mid_sync_keeps_records_and_asks_to_sign_in_again(context, app: App, server):
    db = server.db
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    before = db.record_ids(WANG)
    server.stop()
    app.log_service("before revoke 1")
    app.log_service("before revoke 2")
    ids = new_ids(app, known, 2)
    server.start()
    revoked: list[str] = []

    def push(route):
        # the sync run has started; a coordinator signs this phone out before the push lands
        if not revoked:
            db.execute(
                'UPDATE device SET revoked_at = ? WHERE "user" = ? AND revoked_at IS NULL',
                db.now(),
                db.user_id(WANG),
            )
            revoked.append(route.request.url)
        route.continue_()

    context.route("**/api/v1/sync/push", push)
    app.view("#/")
    app.tid("sync-now").click()
    expect(app.tid("relogin-banner")).to_be_visible()
    assert revoked, "no push reached the server"
    assert app.outbox_count() == 2
    assert db.record_ids(WANG) - before == set()
    app.records_view()
    for rid in ids:
        expect(app.item(rid)).to_be_visible()
        assert app.item(rid).get_attribute("data-state") != "uploaded"

    app.sign_in(WANG)
    for rid in ids:
        app.expect_state(rid, "uploaded")
    assert db.record_ids(WANG) - before == set(ids)
    expect(app.tid("relogin-banner")).to_be_hidden()


def test_invalid_record_is_shown_fixed_and_uploaded(app: App, server):
    """王建国 leaves 李秀英's team while her phone is offline; her record naming him as a
    companion is refused (companions must be members of the team) until she fixes it."""
    db = server.db
    wang, truck = db.user_id(WANG), db.team_id("NC-TRUCK")
    app.open("/")
    app.sign_in(LI)
    known = set(app.record_ids())
    before = db.record_ids(LI)
    server.stop()
    app.log_service("with a companion", companions=(wang,))
    [rid] = new_ids(app, known, 1)
    membership = 'UPDATE membership SET active = ?, change_seq = ? WHERE "user" = ? AND team = ?'
    db.with_seq(membership, False, SEQ, wang, truck)
    try:
        server.start()
        app.sync()
        app.expect_state(rid, "invalid")
        message = app.item(rid).locator('[data-testid="record-message"]')
        expect(message).to_be_visible()
        assert message.inner_text().strip()
        assert db.record_ids(LI) - before == set()

        app.item(rid).locator('[data-testid="record-edit"]').click()
        option = app.page.locator(f'[data-testid="companion-option"][data-user-id="{wang}"]')
        if option.count() and option.is_checked():
            option.uncheck()
        app.tid("save-record").click()
        expect(app.tid("save-record")).to_be_hidden()
        app.sync()
        app.expect_state(rid, "uploaded")
        assert db.record_ids(LI) - before == {rid}
        companions = db.fetch("SELECT * FROM record_companion WHERE record = ?", rid)
        assert companions == []
    finally:
        db.with_seq(membership, True, SEQ, wang, truck)


def test_returned_record_shows_the_note_and_is_fixed_and_resent(app: App, server):
    db = server.db
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    app.log_service("to be returned")
    [rid] = new_ids(app, known, 1)
    app.sync()
    app.expect_state(rid, "uploaded")
    version = db.records([rid])[rid]["version"]

    note = "请写明具体地点(哪块地)"
    db.with_seq(
        "UPDATE service_record SET status = ?, review_note = ?, change_seq = ?, updated_at = ?"
        " WHERE id = ?",
        "returned",
        note,
        SEQ,
        db.now(),
        rid,
    )
    app.sync()
    app.expect_state(rid, "returned")
    expect(app.item(rid).locator('[data-testid="record-message"]')).to_contain_text(note)

    app.item(rid).locator('[data-testid="record-edit"]').click()
    app.tid("place-input").fill("张华楼村东地")
    app.tid("save-record").click()
    expect(app.tid("save-record")).to_be_hidden()
    app.sync()
    app.expect_state(rid, "uploaded")
    row = db.records([rid])[rid]
    assert (row["status"], row["version"], row["place"]) == (
        "submitted",
        version + 1,
        "张华楼村东地",
    )


def test_two_tabs_logging_at_once_lose_nothing(context, server):
    n = 3
    db = server.db
    before = db.record_ids(WANG)
    first = App(context.new_page(), server)
    first.open("/")
    first.sign_in(WANG)
    second = App(context.new_page(), server)
    second.open("/")
    expect(second.tid("log-button")).to_be_visible()  # one profile: signed in in both tabs
    for i in range(n):
        for tab, name in ((first, "A"), (second, "B")):
            tab.view("#/log")
            tab.page.locator('[data-testid="category-tile"][data-code="irrigation_check"]').click()
            tab.page.locator('[data-testid="duration-pick"][data-min="60"]').click()
            tab.tid("note-input").fill(f"tab {name} #{i}")
        # both saves (and the uploads they start) run at the same time
        first.tid("save-record").click()
        second.tid("save-record").click()
        expect(first.tid("save-record")).to_be_hidden()
        expect(second.tid("save-record")).to_be_hidden()
    first.sync()
    second.sync()
    arrived = wait_until(
        lambda: (lambda s: s if len(s) >= 2 * n else None)(db.record_ids(WANG) - before),
        20,
        f"{2 * n} records to arrive",
    )
    first.sync()
    assert len(db.record_ids(WANG) - before) == 2 * n
    assert first.outbox_count() == 0 and second.outbox_count() == 0
    ids = set(first.record_ids())
    assert arrived <= ids
    for rid in arrived:
        first.expect_state(rid, "uploaded")


def test_shared_phone_records_stay_with_their_author(app: App, server):
    db = server.db
    wang_before, li_before = db.record_ids(WANG), db.record_ids(LI)
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    server.stop()
    app.log_service("王建国 offline 1")
    app.log_service("王建国 offline 2")
    wang_ids = new_ids(app, known, 2)

    app.sign_out()
    expect(app.tid("signout-warning")).to_be_visible()
    app.tid("signout-confirm").click()
    expect(app.tid("login-phone")).to_be_visible()

    server.start()
    app.sign_in(LI)
    li_known = set(app.record_ids())
    assert not set(wang_ids) & li_known, "李秀英 sees 王建国's unsent records"
    assert app.outbox_count() == 0
    app.log_service("李秀英 on the shared phone")
    [li_id] = new_ids(app, li_known, 1)
    app.sync()
    app.expect_state(li_id, "uploaded")
    assert db.record_ids(LI) - li_before == {li_id}
    assert db.records(wang_ids) == {}, "王建国's records were sent while 李秀英 was signed in"
    assert db.record_ids(WANG) - wang_before == set()

    app.sign_out()
    if app.tid("signout-warning").is_visible():
        app.tid("signout-confirm").click()
    expect(app.tid("login-phone")).to_be_visible()
    app.sign_in(WANG)
    for rid in wang_ids:
        app.expect_state(rid, "uploaded")
    assert db.record_ids(WANG) - wang_before == set(wang_ids)
    assert db.record_ids(LI) - li_before == {li_id}
