"""Enrolment by link, a conflict shown with the server's copy, a photo upload cut half way."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import SEQ, WANG, App, tiny_png, wait_until
from tests.browser.test_sync_faults import new_ids

CHEN = "13900000014"  # 陈志强: team LH-ZJ-T; no other browser test signs him in


def test_enrolment_link_signs_the_phone_in(app: App, server):
    printed = server.cli("enrol", "--phone", CHEN, "--base-url", server.url)
    link = re.search(r"(/enrol\?code=[A-Z0-9-]+)", printed).group(1)
    app.open(link)
    expect(app.tid("log-button")).to_be_visible()
    # The code was one-time: the server now has a device for 陈志强 and the code is used.
    devices = server.db.fetch(
        'SELECT d.id FROM device d JOIN fl_user u ON u.id = d."user" WHERE u.phone = ?', CHEN
    )
    assert devices
    app.log_service("enrolled phone logs")
    app.sync()
    assert len(server.db.record_ids(CHEN)) >= 1


def test_edit_after_review_shows_conflict_with_the_servers_copy(context, app: App, server):
    db = server.db
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    app.log_service("reviewed while the phone edits")
    [rid] = new_ids(app, known, 1)
    app.sync()
    db.with_seq(
        "UPDATE service_record SET status = 'returned', review_note = ?, change_seq = ?"
        " WHERE id = ?",
        "补充地点",
        SEQ,
        rid,
    )
    app.sync()
    app.expect_state(rid, "returned")

    context.set_offline(True)
    app.item(rid).locator('[data-testid="record-edit"]').click()
    app.tid("place-input").fill("手机上改的地点")
    app.tid("save-record").click()
    expect(app.tid("save-record")).to_be_hidden()
    # Meanwhile the coordinator approves the server's version.
    db.with_seq(
        "UPDATE service_record SET status = 'approved', change_seq = ? WHERE id = ?", SEQ, rid
    )
    context.set_offline(False)
    app.sync()
    app.expect_state(rid, "conflict")
    message = app.item(rid).locator('[data-testid="record-message"]')
    expect(message).to_contain_text("已审核")  # why, in the volunteer's words
    expect(message).to_contain_text("南曹乡")  # the server copy (its place) is shown
    row = db.records([rid])[rid]
    assert (row["status"], row["version"]) == ("approved", 1)


def test_photo_upload_cut_half_way_resumes(context, app: App, server):
    app.open("/")
    app.sign_in(WANG)
    known = set(app.record_ids())
    cut = {"n": 0, "on": True}

    def cut_uploads(route):
        if route.request.method == "PUT" and cut["on"]:
            cut["n"] += 1
            route.abort("connectionreset")
        else:
            route.continue_()

    context.route("**/api/v1/photos/*", cut_uploads)
    app.log_service("photo cut on the way", photo=tiny_png(71, 53))
    [rid] = new_ids(app, known, 1)
    app.sync()  # the record goes, its photo is cut (as many times as the app tries)
    assert cut["n"] >= 1
    assert db_missing_media(server, rid) in (1, True)
    cut["on"] = False
    app.sync()  # the next run sends the photo again: the blob was kept on the phone
    wait_until(lambda: db_missing_media(server, rid) in (0, False), 15, "the photo to arrive")
    app.expect_state(rid, "uploaded")


def db_missing_media(server, rid: str):
    return server.db.records([rid])[rid]["missing_media"]
