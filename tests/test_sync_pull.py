"""GET /api/v1/sync/pull: the caller's changes since a cursor, paged, plus reference lists."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from server.accounts.tables import Membership, User
from server.connections import run_write
from server.db import bump_seq
from server.records.tables import ServiceRecord
from server.sync.tables import SyncCounter
from tests.factories import record
from tests.sync_support import api_fixture, pull_all, push_ok  # noqa: F401

PULL = "/api/v1/sync/pull"


async def pull(api, world, who="vol_wang", cursor=None) -> dict:
    params = {"cursor": cursor} if cursor else {}
    r = await api.get(PULL, params=params, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return r.json()


async def touch(table: str, row_id: int) -> None:
    """Change a row as an admin screen would: with a fresh change number."""
    await with_seq(f"UPDATE {table} SET change_seq = ? WHERE id = ?", row_id)


async def with_seq(sql: str, *args) -> None:
    """Run ``sql`` with a fresh change number as its first parameter, as a review does."""

    async def go(db):
        await db.execute(sql, await bump_seq(db), *args)

    await run_write(go)


async def test_first_pull_gives_everything(api, world):
    mine = record(world)
    await push_ok(api, world, "vol_wang", [mine])
    await push_ok(api, world, "vol_li", [record(world, author="vol_li")])
    body = await pull(api, world)
    assert [r["id"] for r in body["records"]] == [mine["id"]]
    assert body["more"] is False and body["cursor"].startswith("v1.")
    assert body["me"] == {
        "id": world.user("vol_wang"),
        "name": "王建国",
        "role": "volunteer",
        "volunteer_no": "V410104001",
        "phone_masked": "139****0011",
    }
    assert len(body["categories"]) == 16
    teams = {t["code"]: t for t in body["teams"]}
    assert set(teams) == {"NC-TRUCK", "NC-ZHL-T"}
    members = {m["name"] for m in teams["NC-TRUCK"]["members"]}
    assert members == {"王建国", "李秀英"}
    assert set(teams["NC-TRUCK"]["members"][0]) == {"id", "name", "volunteer_no"}
    assert "straw_burning" in teams["NC-TRUCK"]["preferred_categories"]
    assert body["activities"] == []
    server = body["records"][0]
    assert server["status"] == "submitted" and server["version"] == 1
    assert server["occurred_at"].endswith("Z") and server["deleted"] is False


async def test_nothing_changed_gives_no_records_and_null_lists(api, world):
    await push_ok(api, world, "vol_wang", [record(world)])
    first = await pull(api, world)
    again = await pull(api, world, cursor=first["cursor"])
    assert again["records"] == []
    assert again["categories"] is None and again["teams"] is None and again["activities"] is None
    assert again["cursor"] == first["cursor"]


async def test_review_reaches_the_phone(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    cursor = (await pull(api, world))["cursor"]
    await with_seq(
        "UPDATE service_record SET change_seq = ?, status = 'returned', review_note = ?"
        " WHERE id = ?",
        "请补充地点",
        rec["id"],
    )
    body = await pull(api, world, cursor=cursor)
    assert [(r["id"], r["status"], r["review_note"]) for r in body["records"]] == [
        (rec["id"], "returned", "请补充地点")
    ]
    assert body["categories"] is None


async def test_deleted_record_comes_once_as_tombstone(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    cursor = (await pull(api, world))["cursor"]
    await with_seq(
        "UPDATE service_record SET change_seq = ?, deleted_at = ? WHERE id = ?",
        datetime.now(UTC),
        rec["id"],
    )
    body = await pull(api, world, cursor=cursor)
    assert [(r["id"], r["deleted"]) for r in body["records"]] == [(rec["id"], True)]
    again = await pull(api, world, cursor=body["cursor"])
    assert again["records"] == []
    # A new phone gets no tombstones.
    assert (await pull(api, world))["records"] == []


async def test_pagination_walks_every_record_once(api, world, app):
    small = dataclasses.replace(app.state.settings, pull_page_size=7)
    app.state.settings = small
    ids = []
    for _ in range(3):
        recs = [record(world) for _ in range(10)]
        ids += [r["id"] for r in recs]
        await push_ok(api, world, "vol_wang", recs)
    pages, cursor, seen = 0, None, []
    while True:
        body = await pull(api, world, cursor=cursor)
        pages += 1
        assert len(body["records"]) <= 7
        seen += [r["id"] for r in body["records"]]
        cursor = body["cursor"]
        if not body["more"]:
            break
    assert pages == 5 and sorted(seen) == sorted(ids) and len(seen) == len(set(seen))


async def test_category_change_sends_the_whole_list(api, world):
    cursor = (await pull(api, world))["cursor"]
    await touch("category", 10)
    body = await pull(api, world, cursor=cursor)
    assert body["categories"] is not None and len(body["categories"]) == 16
    assert body["teams"] is None


async def test_team_and_member_changes_send_the_team_list(api, world):
    cursor = (await pull(api, world))["cursor"]
    await touch("team", world.team("NC-TRUCK"))
    body = await pull(api, world, cursor=cursor)
    assert body["teams"] is not None and body["categories"] is None
    cursor = body["cursor"]
    # A teammate renamed: the companion picker must show it.
    await User.update({User.name: "李秀英2"}).where(User.id == world.user("vol_li"))
    await touch("fl_user", world.user("vol_li"))
    body = await pull(api, world, cursor=cursor)
    names = {m["name"] for t in body["teams"] for m in t["members"]}
    assert "李秀英2" in names
    cursor = body["cursor"]
    # Someone of another team changes: nothing for this phone.
    await touch("fl_user", world.user("vol_chen"))
    assert (await pull(api, world, cursor=cursor))["teams"] is None


async def test_leaving_a_team_sends_the_team_list(api, world):
    cursor = (await pull(api, world))["cursor"]
    await with_seq(
        'UPDATE membership SET change_seq = ?, active = ? WHERE "user" = ? AND team = ?',
        False,
        world.user("vol_wang"),
        world.team("NC-ZHL-T"),
    )
    body = await pull(api, world, cursor=cursor)
    assert [t["code"] for t in body["teams"]] == ["NC-TRUCK"]
    assert await Membership.count() == 5


async def test_open_activities_reach_team_members(api, world):
    from tests.factories import new_id
    from tests.sync_support import batch, push

    cursor = (await pull(api, world, who="vol_li"))["cursor"]
    act = {
        "id": new_id(),
        "team_id": world.team("NC-TRUCK"),
        "title": "三夏麦收服务",
        "date": "2026-06-08",
    }
    await push(api, world, "vol_wang", batch([], activities=[act]))
    body = await pull(api, world, who="vol_li", cursor=cursor)
    assert [a["id"] for a in body["activities"]] == [act["id"]]
    # Ended: the list comes again without it.
    ended = act | {"ended_at": "2026-06-08T12:00:00+08:00"}
    await push(api, world, "vol_wang", batch([], activities=[ended]))
    body = await pull(api, world, who="vol_li", cursor=body["cursor"])
    assert body["activities"] == []
    # Another team's volunteer never sees it.
    assert (await pull(api, world, who="vol_chen"))["activities"] == []


async def test_cursor_is_the_committed_counter(api, world):
    await push_ok(api, world, "vol_wang", [record(world)])
    body = await pull(api, world)
    value = (await SyncCounter.select(SyncCounter.value).first())["value"]
    assert body["cursor"] == f"v1.{value}.0"
    assert await ServiceRecord.count() == 1
