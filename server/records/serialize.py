"""Reading service records back out as the protocol's "server record", in raw SQL.

Shared by sync pull, push conflicts and the records API so all three show the same shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from server.connections import reading as read_connection  # noqa: F401  (re-exported)
from server.db import SQL
from server.sync.schemas import ServerRecord

RECORD_COLUMNS = (
    "r.id, r.author, r.team, c.code AS category, r.activity, r.occurred_at, r.duration_min,"
    " r.place, r.place_unit, r.beneficiaries, r.description, r.photos, r.photo_consent,"
    " r.quantity, r.lat, r.lng, r.accuracy_m, r.source, r.client_created_at, r.status,"
    " r.review_note, r.version, r.missing_media, r.clock_skewed, r.received_at, r.updated_at,"
    " r.deleted_at, r.change_seq"
)
RECORD_FROM = "service_record r JOIN category c ON c.id = r.category"


def any_of(db: SQL, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` for SQLite, ``column = ANY(?)`` (one array parameter) for PostgreSQL."""
    if not values:
        return "1 = 0", []
    if db.pg:
        return f"{column} = ANY(?)", [list(values)]
    return f"{column} IN ({db.in_list(len(values))})", list(values)


async def companions_of(db: SQL, ids: Sequence[str]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    if not ids:
        return out
    cond, args = any_of(db, "record", ids)
    rows = await db.fetch(f'SELECT record, "user" FROM record_companion WHERE {cond}', *args)
    for row in rows:
        out.setdefault(row["record"], []).append(row["user"])
    for v in out.values():
        v.sort()
    return out


def to_server_record(row: dict[str, Any], companions: Iterable[int] = ()) -> ServerRecord:
    return ServerRecord(
        id=row["id"],
        author_id=row["author"],
        team_id=row["team"],
        category=row["category"],
        activity_id=row["activity"],
        occurred_at=row["occurred_at"],
        duration_min=row["duration_min"],
        place=row["place"],
        place_unit_id=row["place_unit"],
        beneficiaries=row["beneficiaries"],
        description=row["description"],
        companions=list(companions),
        photos=row["photos"].split(",") if row["photos"] else [],
        photo_consent=bool(row["photo_consent"]),
        quantity=row["quantity"],
        lat=row["lat"],
        lng=row["lng"],
        accuracy_m=row["accuracy_m"],
        source=row["source"],
        created_at=row["client_created_at"],
        status=row["status"],
        review_note=row["review_note"] or "",
        version=row["version"],
        missing_media=bool(row["missing_media"]),
        clock_skewed=bool(row["clock_skewed"]),
        received_at=row["received_at"],
        updated_at=row["updated_at"],
        deleted=row["deleted_at"] is not None,
    )


async def fetch_records(db: SQL, where: str, *args: Any, tail: str = "") -> list[ServerRecord]:
    """Server records matching ``where`` (on alias ``r``), with their companions."""
    rows = await db.fetch(f"SELECT {RECORD_COLUMNS} FROM {RECORD_FROM} WHERE {where} {tail}", *args)
    comps = await companions_of(db, [r["id"] for r in rows])
    return [to_server_record(r, comps.get(r["id"], ())) for r in rows]


async def records_by_id(db: SQL, ids: Sequence[str]) -> dict[str, ServerRecord]:
    cond, args = any_of(db, "r.id", ids)
    return {r.id: r for r in await fetch_records(db, cond, *args)}
