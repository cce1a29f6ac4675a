"""Answering ``GET /sync/pull``: what changed for one person since their cursor.

The cursor is ``v1.<change_seq>.<record id>``: the (change_seq, id) of the last record sent
when a page was full, or ``v1.<high-water mark>.0`` when the phone is up to date ("0" meaning
every change up to that number was sent). The high-water mark is the
counter's committed value read first; rows with a larger number may still be committing and
are left for the next pull, so none is ever skipped.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from litestar.exceptions import ClientException

from server.accounts.auth import Principal
from server.accounts.phones import mask_phone
from server.db import SQL
from server.records.serialize import (
    RECORD_COLUMNS,
    RECORD_FROM,
    any_of,
    companions_of,
    read_connection,
    to_server_record,
)
from server.settings import Settings
from server.sync.schemas import (
    ActivityOut,
    CategoryOut,
    Me,
    MemberOut,
    PullResponse,
    PullTeam,
)

_CURSOR = re.compile(r"^v1\.(\d{1,18})\.([0-9a-f-]{1,36})$")


def _bad_cursor() -> ClientException:
    return ClientException(
        "This sync cursor cannot be read; pull again without one.", extra={"error": "bad_cursor"}
    )


def parse_cursor(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None or cursor == "":
        return None
    m = _CURSOR.fullmatch(cursor)
    if not m:
        raise _bad_cursor()
    return int(m.group(1)), m.group(2)


async def pull(principal: Principal, cursor: str | None, settings: Settings) -> PullResponse:
    after = parse_cursor(cursor)
    since = after[0] if after else 0
    page = settings.pull_page_size
    async with read_connection() as db:
        high = int(await db.fetchval("SELECT value FROM sync_counter WHERE id = 1"))
        if after is not None and after[0] > high:
            # Not a cursor this server gave (another server's, or a restored backup's): reading
            # from it would skip every change numbered up to it. The phone starts over instead.
            raise _bad_cursor()
        user = (
            await db.fetch(
                "SELECT id, name, role, volunteer_no, phone FROM fl_user WHERE id = ?", principal.id
            )
        )[0]
        me = Me(
            id=user["id"],
            name=user["name"],
            role=user["role"],
            volunteer_no=user["volunteer_no"],
            phone_masked=mask_phone(user["phone"]),
        )
        if after is None:
            # A new phone needs no tombstones.
            where = "r.author = ? AND r.deleted_at IS NULL AND r.change_seq <= ?"
            args: list = [principal.id, high]
        elif after[1] == "0":
            # Id "0": everything up to and including that change number was sent.
            where = "r.author = ? AND r.change_seq > ? AND r.change_seq <= ?"
            args = [principal.id, after[0], high]
        else:
            where = (
                "r.author = ? AND (r.change_seq > ? OR (r.change_seq = ? AND r.id > ?))"
                " AND r.change_seq <= ?"
            )
            args = [principal.id, after[0], after[0], after[1], high]
        rows = await db.fetch(
            f"SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {where}"
            f" ORDER BY r.change_seq, r.id LIMIT {page + 1}",
            *args,
        )
        more = len(rows) > page
        rows = rows[:page]
        comps = await companions_of(db, [r["id"] for r in rows])
        records = [to_server_record(r, comps.get(r["id"], ())) for r in rows]
        next_cursor = f"v1.{rows[-1]['change_seq']}.{rows[-1]['id']}" if more else f"v1.{high}.0"
        categories, teams, activities = await _lists(db, principal.id, since, after is None)
    return PullResponse(
        cursor=next_cursor,
        more=more,
        server_time=datetime.now(UTC),
        me=me,
        records=records,
        categories=categories,
        teams=teams,
        activities=activities,
    )


async def _max_seq(db: SQL, sql: str, *args) -> int:
    return int(await db.fetchval(sql, *args) or 0)


async def _lists(db: SQL, uid: int, since: int, everything: bool):
    """Each reference list whole when anything in it changed after ``since``, else None."""
    team_ids = [
        r["team"]
        for r in await db.fetch(
            "SELECT m.team FROM membership m JOIN team t ON t.id = m.team"
            ' WHERE m."user" = ? AND m.active AND t.active ORDER BY m.team',
            uid,
        )
    ]
    cond_t, args_t = any_of(db, "t.id", team_ids)
    cond_m, args_m = any_of(db, "m.team", team_ids)
    cond_a, args_a = any_of(db, "a.team", team_ids)

    cats_changed = everything or since < await _max_seq(db, "SELECT MAX(change_seq) FROM category")
    teams_changed = everything or since < max(
        await _max_seq(db, 'SELECT MAX(change_seq) FROM membership WHERE "user" = ?', uid),
        await _max_seq(db, f"SELECT MAX(t.change_seq) FROM team t WHERE {cond_t}", *args_t),
        await _max_seq(db, f"SELECT MAX(m.change_seq) FROM membership m WHERE {cond_m}", *args_m),
        await _max_seq(
            db,
            'SELECT MAX(u.change_seq) FROM membership m JOIN fl_user u ON u.id = m."user"'
            f" WHERE {cond_m}",
            *args_m,
        ),
    )
    acts_changed = teams_changed or since < await _max_seq(
        db, f"SELECT MAX(a.change_seq) FROM activity a WHERE {cond_a}", *args_a
    )

    categories = None
    if cats_changed:
        categories = [
            CategoryOut(
                id=r["id"],
                code=r["code"],
                name=r["name"],
                name_en=r["name_en"],
                quantity_unit=r["quantity_unit"],
                quantity_unit_en=r["quantity_unit_en"],
                active=bool(r["active"]),
                sort_order=r["sort_order"],
            )
            for r in await db.fetch(
                "SELECT id, code, name, name_en, quantity_unit, quantity_unit_en, active,"
                " sort_order FROM category ORDER BY sort_order, id"
            )
        ]
    teams = None
    if teams_changed:
        members: dict[int, list[MemberOut]] = {}
        for r in await db.fetch(
            "SELECT m.team, u.id, u.name, u.volunteer_no FROM membership m JOIN fl_user u ON u.id ="
            f' m."user" WHERE m.active AND u.active AND {cond_m} ORDER BY u.id',
            *args_m,
        ):
            members.setdefault(r["team"], []).append(
                MemberOut(r["id"], r["name"], r["volunteer_no"])
            )
        teams = [
            PullTeam(
                id=r["id"],
                code=r["code"],
                name=r["name"],
                unit_id=r["unit"],
                default_place=r["default_place"],
                preferred_categories=[c for c in r["preferred_categories"].split(",") if c],
                members=members.get(r["id"], []),
            )
            for r in await db.fetch(
                "SELECT t.id, t.code, t.name, t.unit, t.default_place, t.preferred_categories"
                f" FROM team t WHERE {cond_t} ORDER BY t.id",
                *args_t,
            )
        ]
    activities = None
    if acts_changed:
        activities = [
            ActivityOut(
                id=r["id"],
                team_id=r["team"],
                title=r["title"],
                date=r["date"],
                place=r["place"],
                started_at=r["started_at"],
                ended_at=r["ended_at"],
                leader_id=r["leader"],
            )
            for r in await db.fetch(
                "SELECT a.id, a.team, a.title, a.date, a.place, a.started_at, a.ended_at, a.leader"
                f" FROM activity a WHERE a.ended_at IS NULL AND {cond_a} ORDER BY a.date, a.id",
                *args_a,
            )
        ]
    return categories, teams, activities
