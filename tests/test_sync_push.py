"""POST /api/v1/sync/push: one result per item, as docs/sync.md says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from server.audit.tables import AuditEvent
from server.records.tables import Activity, RecordCompanion, RecordPhoto, ServiceRecord
from tests.factories import new_id, record
from tests.sync_support import api_fixture, batch, push, push_ok  # noqa: F401

PHOTO = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


async def rows(record_id: str) -> list[dict]:
    return await ServiceRecord.select().where(ServiceRecord.id == record_id)


async def set_status(record_id: str, status: str) -> None:
    await ServiceRecord.update({ServiceRecord.status: status}).where(ServiceRecord.id == record_id)


async def test_created_then_duplicate_on_replay_after_lost_response(api, world):
    rec = record(world)
    first = await push_ok(api, world, "vol_wang", [rec])
    assert first[0] | {"missing_photos": None} == {
        "index": 0,
        "id": rec["id"],
        "result": "created",
        "version": 1,
        "status": "submitted",
        "missing_photos": None,
    }
    # The phone never saw the answer and sends the same batch again.
    again = await push_ok(api, world, "vol_wang", [rec])
    assert again[0]["result"] == "duplicate"
    assert again[0]["version"] == 1 and again[0]["status"] == "submitted"
    assert len(await rows(rec["id"])) == 1
    row = (await rows(rec["id"]))[0]
    assert row["author"] == world.user("vol_wang") and row["device"] == world.devices["vol_wang"]
    assert row["credited"] == 1 and row["status"] == "submitted"


async def test_duplicate_even_with_repeated_companion_and_other_offset(api, world):
    wang = world.user("vol_wang")
    rec = record(world, author="vol_li", companions=[wang], occurred_at="2026-06-08T10:00:00Z")
    await push_ok(api, world, "vol_li", [rec])
    # The same instant written in +08:00 and the companion listed twice: the same content.
    same = rec | {"occurred_at": "2026-06-08T18:00:00+08:00", "companions": [wang, wang]}
    res = await push_ok(api, world, "vol_li", [same])
    assert res[0]["result"] == "duplicate"


async def test_same_id_other_content_without_base_version_is_conflict_exists(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    res = await push_ok(api, world, "vol_wang", [rec | {"beneficiaries": 99}])
    assert res[0]["result"] == "conflict" and res[0]["reason"] == "exists"
    assert res[0]["server"]["beneficiaries"] == 12 and res[0]["server"]["version"] == 1
    assert (await rows(rec["id"]))[0]["beneficiaries"] == 12


async def test_edit_with_base_version_updates_and_audits(api, world):
    rec = record(world, companions=[world.user("vol_li")])
    await push_ok(api, world, "vol_wang", [rec])
    res = await push_ok(
        api, world, "vol_wang", [rec | {"base_version": 1, "duration_min": 45, "companions": []}]
    )
    assert res[0]["result"] == "updated" and res[0]["version"] == 2
    row = (await rows(rec["id"]))[0]
    assert row["duration_min"] == 45 and row["version"] == 2 and row["credited"] == 1
    assert not await RecordCompanion.exists().where(RecordCompanion.record == rec["id"])
    audit = await AuditEvent.select().where(
        (AuditEvent.record_id == rec["id"]) & (AuditEvent.action == "record.update")
    )
    assert len(audit) == 1
    before, after = audit[0]["before"], audit[0]["after"]
    before = msgspec.json.decode(before) if isinstance(before, str) else before
    after = msgspec.json.decode(after) if isinstance(after, str) else after
    assert before["duration_min"] == 90 and after["duration_min"] == 45
    assert after["version"] == 2


def _json(value):
    return msgspec.json.decode(value) if isinstance(value, str) else value


async def test_each_creation_gets_its_own_audit_row(api, world):
    recs = [record(world) for _ in range(3)]
    await push_ok(api, world, "vol_wang", recs)
    audit = await AuditEvent.select().where(AuditEvent.action == "record.create")
    assert sorted(a["record_id"] for a in audit) == sorted(r["id"] for r in recs)
    for a in audit:
        assert a["actor"] == world.user("vol_wang") and a["device"] == world.devices["vol_wang"]
        assert a["before"] is None
        row = (await rows(a["record_id"]))[0]
        assert _json(a["after"]) == {
            "version": 1,
            "status": "submitted",
            "content_hash": row["content_hash"],
        }


async def test_a_full_batch_of_creations_is_audited_per_record(api, world):
    # 500 rows take the bulk path (COPY on PostgreSQL), not one statement per row.
    recs = [record(world) for _ in range(500)]
    await push_ok(api, world, "vol_wang", recs)
    audit = await AuditEvent.select(AuditEvent.record_id).where(
        AuditEvent.action == "record.create"
    )
    assert sorted(a["record_id"] for a in audit) == sorted(r["id"] for r in recs)


async def test_stale_base_version_is_conflict(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    await push_ok(api, world, "vol_wang", [rec | {"base_version": 1, "place": "二号地"}])
    res = await push_ok(api, world, "vol_wang", [rec | {"base_version": 1, "place": "三号地"}])
    assert res[0]["result"] == "conflict" and res[0]["reason"] == "stale"
    assert res[0]["server"]["place"] == "二号地" and res[0]["server"]["version"] == 2


async def test_edit_after_approval_is_conflict_not_editable(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    await set_status(rec["id"], "approved")
    res = await push_ok(api, world, "vol_wang", [rec | {"base_version": 1, "place": "改"}])
    assert res[0]["result"] == "conflict" and res[0]["reason"] == "not_editable"
    assert res[0]["server"]["status"] == "approved"
    assert (await rows(rec["id"]))[0]["place"] == rec["place"]


async def test_edit_of_returned_record_goes_back_to_submitted(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    await set_status(rec["id"], "returned")
    res = await push_ok(api, world, "vol_wang", [rec | {"base_version": 1, "place": "改正"}])
    assert res[0]["result"] == "updated" and res[0]["status"] == "submitted"
    row = (await rows(rec["id"]))[0]
    assert row["status"] == "submitted" and row["version"] == 2 and row["place"] == "改正"


async def test_withdrawn_record_is_never_recreated(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    await set_status(rec["id"], "withdrawn")
    for body in (rec, rec | {"base_version": 1, "place": "x"}):
        res = await push_ok(api, world, "vol_wang", [body])
        assert res[0]["result"] == "conflict" and res[0]["reason"] == "withdrawn"
    assert (await rows(rec["id"]))[0]["status"] == "withdrawn"


async def test_deleted_record_resent_is_refused(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    await ServiceRecord.update({ServiceRecord.deleted_at: datetime.now(UTC)}).where(
        ServiceRecord.id == rec["id"]
    )
    res = await push_ok(api, world, "vol_wang", [rec])
    assert res[0]["result"] == "conflict" and res[0]["reason"] == "deleted"
    assert res[0]["server"]["deleted"] is True
    assert len(await rows(rec["id"])) == 1


async def test_someone_elses_id_is_forbidden(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    res = await push_ok(api, world, "vol_li", [rec | {"team_id": world.team("NC-TRUCK")}])
    assert res[0]["result"] == "forbidden" and res[0]["message"]
    assert (await rows(rec["id"]))[0]["author"] == world.user("vol_wang")


async def test_one_bad_record_does_not_block_the_rest(api, world):
    good1, good2 = record(world), record(world)
    bad = record(world, duration_min=0, place="", category="nope")
    res = await push_ok(api, world, "vol_wang", [good1, bad, good2, {"oops": 1}, 5])
    assert [r["result"] for r in res] == ["created", "invalid", "created", "invalid", "invalid"]
    assert [r["index"] for r in res] == [0, 1, 2, 3, 4]
    assert res[1]["id"] == bad["id"] and res[4]["id"] is None
    fields = {e["field"]: e["code"] for e in res[1]["errors"]}
    # Every bad field is listed, not only the first msgspec meets.
    assert fields == {"duration_min": "range", "place": "length"}
    assert {e["field"] for e in res[3]["errors"]} >= {"id", "team_id", "occurred_at"}
    assert all(e["message"] for e in res[1]["errors"])
    assert len(await rows(good1["id"])) == 1 and len(await rows(good2["id"])) == 1
    assert await rows(bad["id"]) == []


async def test_unknown_category_and_quantity_rules(api, world):
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [
            record(world, category="nope"),
            record(world, category="irrigation_check", quantity=3),
            record(world, category="straw_burning", quantity=3.5),
        ],
    )
    assert res[0]["errors"][0] == {
        "field": "category",
        "code": "unknown",
        "message": "Unknown category 'nope'.",
    }
    assert res[1]["errors"][0]["field"] == "quantity"
    assert res[2]["result"] == "created"


async def test_deactivated_category_is_still_accepted(api, world):
    from server.records.tables import Category

    await Category.update({Category.active: False}).where(Category.code == "straw_burning")
    res = await push_ok(api, world, "vol_wang", [record(world)])
    assert res[0]["result"] == "created"


async def test_clock_skew_is_flagged_not_rejected(api, world):
    phone_now = datetime.now(UTC) + timedelta(days=400)
    rec = record(world, occurred_at=(phone_now - timedelta(hours=1)).isoformat())
    r = await push(api, world, "vol_wang", batch([rec], client_time=phone_now.isoformat()))
    body = r.json()
    assert r.status_code == 200 and body["clock_skewed"] is True
    assert abs(body["clock_skew_s"] - 400 * 86400) < 60
    # The service time is "future" by the server's clock but not by the phone's: stored.
    assert body["results"][0]["result"] == "created"
    row = (await rows(rec["id"]))[0]
    assert row["clock_skewed"] is True and abs(row["clock_skew_s"] - 400 * 86400) < 60


async def test_small_skew_is_not_flagged(api, world):
    client_time = (datetime.now(UTC) - timedelta(seconds=30)).isoformat()
    rec = record(world)
    r = await push(api, world, "vol_wang", batch([rec], client_time=client_time))
    assert r.json()["clock_skewed"] is False
    assert (await rows(rec["id"]))[0]["clock_skewed"] is False


async def test_future_service_time_is_invalid(api, world):
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    old = "1999-12-31T23:00:00+08:00"
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [
            record(world, occurred_at=future),
            record(world, occurred_at=soon),
            record(world, occurred_at=old),
        ],
    )
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["code"] == "future"
    assert res[1]["result"] == "created"
    assert res[2]["errors"][0]["code"] == "too_early"


async def test_occurred_at_needs_an_offset(api, world):
    res = await push_ok(api, world, "vol_wang", [record(world, occurred_at="2026-06-08T10:00:00")])
    assert res[0]["result"] == "invalid"
    assert res[0]["errors"] == [
        {
            "field": "occurred_at",
            "code": "offset_required",
            "message": "Expected `datetime` with a timezone component",
        }
    ]


async def test_companions_must_be_team_members_and_not_the_author(api, world):
    zhao, li = world.user("vol_zhao"), world.user("vol_li")
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [
            record(world, companions=[zhao]),  # zhao is not in NC-TRUCK
            record(world, companions=[world.user("vol_wang")]),
            record(world, companions=[li, li]),
        ],
    )
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["code"] == "not_member"
    assert res[1]["result"] == "invalid" and res[1]["errors"][0]["code"] == "self"
    assert res[2]["result"] == "created"
    comps = await RecordCompanion.select().where(RecordCompanion.record == res[2]["id"])
    assert [c["user"] for c in comps] == [li]
    assert (await rows(res[2]["id"]))[0]["credited"] == 2


async def test_team_must_be_the_authors(api, world):
    res = await push_ok(api, world, "vol_wang", [record(world, team="LH-ZJ-T")])
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["field"] == "team_id"


async def test_gps_together_or_not_at_all(api, world):
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [record(world, lat=34.7), record(world, lat=34.7, lng=113.6, accuracy_m=8)],
    )
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["field"] == "lat"
    assert res[1]["result"] == "created"


async def test_missing_photos_listed_and_repeated_photo_counted_once(api, world):
    rec = record(world, photos=[PHOTO, PHOTO], photo_consent=True)
    res = await push_ok(api, world, "vol_wang", [rec])
    assert res[0]["result"] == "created" and res[0]["missing_photos"] == [PHOTO]
    assert (await rows(rec["id"]))[0]["missing_media"] is True
    photos = await RecordPhoto.select().where(RecordPhoto.record == rec["id"])
    assert [p["sha256"] for p in photos] == [PHOTO]
    # The replay still lists what is missing, so the phone uploads it.
    again = await push_ok(api, world, "vol_wang", [rec])
    assert again[0]["result"] == "duplicate" and again[0]["missing_photos"] == [PHOTO]


async def test_activity_created_and_used_by_a_record_of_the_same_batch(api, world):
    act = {
        "id": new_id(),
        "team_id": world.team("NC-TRUCK"),
        "title": "三夏麦收服务",
        "date": "2026-06-08",
        "place": "张华楼村",
        "started_at": datetime.now(UTC).isoformat(),
    }
    rec = record(world, activity_id=act["id"])
    r = await push(api, world, "vol_wang", batch([rec], activities=[act]))
    body = r.json()
    assert body["activities"] == [{"index": 0, "id": act["id"], "result": "created"}]
    assert body["results"][0]["result"] == "created"
    assert (await rows(rec["id"]))[0]["activity"] == act["id"]
    # Replay: duplicate; the leader ends it: updated; someone else may not change it.
    r = await push(api, world, "vol_wang", batch([], activities=[act]))
    assert r.json()["activities"][0]["result"] == "duplicate"
    ended = act | {"ended_at": datetime.now(UTC).isoformat()}
    r = await push(api, world, "vol_wang", batch([], activities=[ended]))
    assert r.json()["activities"][0]["result"] == "updated"
    assert (await Activity.select().where(Activity.id == act["id"]))[0]["ended_at"] is not None
    r = await push(api, world, "vol_li", batch([], activities=[act | {"title": "改"}]))
    assert r.json()["activities"][0]["result"] == "forbidden"


async def test_record_naming_unknown_activity_is_invalid(api, world):
    res = await push_ok(api, world, "vol_wang", [record(world, activity_id=new_id())])
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["field"] == "activity_id"


async def test_gzip_body_is_accepted(api, world):
    rec = record(world)
    r = await push(api, world, "vol_wang", batch([rec]), gz=True)
    assert r.status_code == 200 and r.json()["results"][0]["result"] == "created"


async def test_change_seq_is_one_number_per_batch(api, world):
    a, b = record(world), record(world)
    await push_ok(api, world, "vol_wang", [a, b])
    c = record(world)
    await push_ok(api, world, "vol_wang", [c])
    seqs = [(await rows(x["id"]))[0]["change_seq"] for x in (a, b, c)]
    assert seqs[0] == seqs[1] < seqs[2]


async def test_full_batch_with_companions_and_photos_is_stored_whole(api, world):
    li = world.user("vol_li")
    recs = [
        record(world, companions=[li], photos=[f"{i:064x}", PHOTO], quantity=float(i))
        for i in range(500)
    ]
    res = await push_ok(api, world, "vol_wang", recs)
    assert [r["result"] for r in res] == ["created"] * 500
    assert res[7]["missing_photos"] == [f"{7:064x}", PHOTO]
    ids = [r["id"] for r in recs]
    assert await ServiceRecord.count().where(ServiceRecord.id.is_in(ids)) == 500
    assert await RecordCompanion.count().where(RecordCompanion.record.is_in(ids)) == 500
    assert await RecordPhoto.count().where(RecordPhoto.record.is_in(ids)) == 1000
    row = (await rows(recs[7]["id"]))[0]
    assert row["quantity"] == 7.0 and row["credited"] == 2 and row["missing_media"] is True
    assert row["occurred_at"] == datetime.fromisoformat(recs[7]["occurred_at"])
    again = await push_ok(api, world, "vol_wang", recs)
    assert {r["result"] for r in again} == {"duplicate"}
