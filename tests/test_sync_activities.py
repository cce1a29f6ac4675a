"""Activities in push: the database's team and leader count, never what a batch claims; and the
documented races (same id twice in a batch, a withdraw racing an edit, a failed COMMIT)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime

import pytest

from server import db as db_mod
from server.connections import run_write
from server.records.tables import Activity, ServiceRecord
from server.sync import push as push_mod
from tests.factories import new_id, record
from tests.sync_support import api_fixture, batch, push, push_ok  # noqa: F401


def activity(world, team: str = "NC-TRUCK", **over) -> dict:
    body = {
        "id": new_id(),
        "team_id": world.team(team),
        "title": "三夏麦收服务",
        "date": "2026-06-08",
        "place": "张华楼村",
        "started_at": datetime.now(UTC).isoformat(),
    }
    return body | over


async def push_both(api, world, who: str, records: list[dict], acts: list[dict]) -> dict:
    r = await push(api, world, who, batch(records, activities=acts))
    assert r.status_code == 200, r.text
    return r.json()


async def stored_activity(act_id: str) -> dict:
    return (await Activity.select().where(Activity.id == act_id))[0]


async def test_another_teams_activity_cannot_be_claimed_for_my_team(api, world):
    # Zhao's outing belongs to NC-ZHL-T. Wang (NC-TRUCK too) re-sends it as NC-TRUCK's, with a
    # NC-TRUCK record naming it: the activity is not his, so the record may not use it.
    theirs = activity(world, team="NC-ZHL-T")
    body = await push_both(api, world, "vol_zhao", [], [theirs])
    assert body["activities"][0]["result"] == "created"
    claimed = theirs | {"team_id": world.team("NC-TRUCK")}
    rec = record(world, activity_id=theirs["id"])
    body = await push_both(api, world, "vol_wang", [rec], [claimed])
    assert body["activities"][0]["result"] == "forbidden"
    assert body["results"][0]["result"] == "invalid"
    assert body["results"][0]["errors"][0]["field"] == "activity_id"
    assert await ServiceRecord.count().where(ServiceRecord.id == rec["id"]) == 0
    assert (await stored_activity(theirs["id"]))["team"] == world.team("NC-ZHL-T")


async def test_the_leader_cannot_move_an_activity_to_another_team(api, world):
    act = activity(world)
    rec = record(world, activity_id=act["id"])
    await push_both(api, world, "vol_wang", [rec], [act])
    moved = act | {"team_id": world.team("NC-ZHL-T")}
    body = await push_both(api, world, "vol_wang", [], [moved])
    out = body["activities"][0]
    assert out["result"] == "invalid"
    assert out["errors"] == [
        {
            "field": "team_id",
            "code": "team_changed",
            "message": "An activity cannot move to another team; start a new one.",
        }
    ]
    assert (await stored_activity(act["id"]))["team"] == world.team("NC-TRUCK")
    # Other changes by the leader still apply.
    ended = act | {"ended_at": datetime.now(UTC).isoformat()}
    body = await push_both(api, world, "vol_wang", [], [ended])
    assert body["activities"][0]["result"] == "updated"


async def test_a_bad_copy_of_a_stored_activity_does_not_block_its_records(api, world):
    act = activity(world)
    await push_both(api, world, "vol_wang", [], [act])
    rec = record(world, activity_id=act["id"])
    body = await push_both(api, world, "vol_wang", [rec], [act | {"title": ""}])
    assert body["activities"][0]["result"] == "invalid"
    assert body["results"][0]["result"] == "created"
    assert (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0][
        "activity"
    ] == act["id"]


async def test_a_teammates_activity_may_be_named(api, world):
    act = activity(world)
    await push_both(api, world, "vol_wang", [], [act])
    rec = record(world, author="vol_li", activity_id=act["id"])
    assert (await push_ok(api, world, "vol_li", [rec]))[0]["result"] == "created"
    # But a record of another team may not name it.
    other = record(world, author="vol_wang", team="NC-ZHL-T", activity_id=act["id"])
    res = await push_ok(api, world, "vol_wang", [other])
    assert res[0]["result"] == "invalid" and res[0]["errors"][0]["field"] == "activity_id"


async def test_same_new_activity_twice_in_a_batch_cannot_change_team(api, world):
    act = activity(world)
    body = await push_both(
        api, world, "vol_wang", [], [act, act | {"team_id": world.team("NC-ZHL-T")}]
    )
    assert [a["result"] for a in body["activities"]] == ["created", "invalid"]
    assert (await stored_activity(act["id"]))["team"] == world.team("NC-TRUCK")


async def test_activity_made_by_another_batch_meanwhile_is_judged_under_the_lock(
    api, world, monkeypatch
):
    """Between validation and the write, another person's batch creates the same activity id
    for another team: the write step sees it, refuses the activity and the record naming it."""
    act = activity(world)
    rec = record(world, activity_id=act["id"])
    real = push_mod.load_lookups
    rivals: list[dict] = []

    async def lookups_then_rival(principal, recs, acts):
        lk = await real(principal, recs, acts)
        if not rivals:  # once: the rival's own push comes through here too
            rivals.append(act | {"team_id": world.team("NC-ZHL-T")})
            body = await push_both(api, world, "vol_zhao", [], rivals)
            assert body["activities"][0]["result"] == "created"
        return lk

    monkeypatch.setattr(push_mod, "load_lookups", lookups_then_rival)
    body = await push_both(api, world, "vol_wang", [rec], [act])
    monkeypatch.undo()
    assert body["activities"][0]["result"] == "forbidden"
    assert body["results"][0]["result"] == "invalid"
    assert await ServiceRecord.count().where(ServiceRecord.id == rec["id"]) == 0


async def test_many_new_activities_in_one_batch(api, world):
    acts = [activity(world) for _ in range(60)]  # past the COPY threshold on PostgreSQL
    recs = [record(world, activity_id=a["id"]) for a in acts]
    body = await push_both(api, world, "vol_wang", recs, acts)
    assert {a["result"] for a in body["activities"]} == {"created"}
    assert {r["result"] for r in body["results"]} == {"created"}
    assert await Activity.count() == 60
    row = await stored_activity(acts[7]["id"])
    assert row["leader"] == world.user("vol_wang") and str(row["date"]) == "2026-06-08"


# --- the same id twice in one batch --------------------------------------------------


async def test_same_record_id_twice_in_one_batch(api, world):
    rec = record(world)
    other = record(world)
    res = await push_ok(api, world, "vol_wang", [rec, rec, other, other | {"beneficiaries": 99}])
    assert [r["result"] for r in res] == ["created", "duplicate", "created", "conflict"]
    assert res[1]["version"] == 1 and res[3]["reason"] == "exists"
    assert res[3]["server"]["beneficiaries"] == 12
    assert await ServiceRecord.count().where(ServiceRecord.id.is_in([rec["id"], other["id"]])) == 2


async def test_same_edit_twice_in_one_batch_applies_once(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    edit = rec | {"base_version": 1, "place": "二号地"}
    res = await push_ok(api, world, "vol_wang", [edit, edit | {"place": "三号地"}])
    assert res[0]["result"] == "updated" and res[0]["version"] == 2
    assert res[1]["result"] == "conflict" and res[1]["reason"] == "stale"
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["place"] == "二号地" and row["version"] == 2


# --- a withdraw racing an edit -------------------------------------------------------


async def test_withdraw_racing_an_edit(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    edit = rec | {"base_version": 1, "place": "改"}
    withdrawn, pushed = await asyncio.gather(
        api.post(f"/api/v1/records/{rec['id']}/withdraw", headers=world.auth("vol_wang")),
        push(api, world, "vol_wang", batch([edit])),
    )
    assert withdrawn.status_code == 200 and pushed.status_code == 200, (withdrawn, pushed)
    result = pushed.json()["results"][0]
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["status"] == "withdrawn"
    if result["result"] == "updated":  # the edit first, then the withdraw of version 2
        assert result["version"] == 2 and row["place"] == "改"
        assert withdrawn.json()["version"] == 3 == row["version"]
    else:  # the withdraw first: the edit is refused and changes nothing
        assert result["result"] == "conflict" and result["reason"] == "withdrawn"
        assert withdrawn.json()["version"] == 2 == row["version"]
        assert row["place"] == rec["place"]


# --- a COMMIT that fails -------------------------------------------------------------


async def test_a_failed_commit_leaves_the_writer_usable(world):
    """A deferred foreign key fails only at COMMIT. The SQLite writer's long-lived connection
    must not be left inside that transaction, or every later write fails."""

    async def broken(db):
        if db.pg:
            # The same failure on PostgreSQL: a deferred constraint checked at COMMIT.
            await db.execute("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY) ON COMMIT DROP")
            await db.execute(
                "CREATE TEMP TABLE child (p INTEGER REFERENCES parent (id)"
                " DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP"
            )
            await db.execute("INSERT INTO child (p) VALUES (-1)")
        else:
            await db.execute("PRAGMA defer_foreign_keys = ON")
            await db.execute('INSERT INTO record_companion (record, "user") VALUES (?, ?)', "x", -1)

    errors = (sqlite3.IntegrityError,)
    if db_mod.is_postgres():
        import asyncpg

        errors = (asyncpg.ForeignKeyViolationError,)
    with pytest.raises(errors):
        await run_write(broken)

    async def fine(db):
        await db.execute(
            "UPDATE fl_user SET name = ? WHERE id = ?", "王建国二", world.user("vol_wang")
        )
        return await db.fetchval("SELECT name FROM fl_user WHERE id = ?", world.user("vol_wang"))

    assert await run_write(fine) == "王建国二"
