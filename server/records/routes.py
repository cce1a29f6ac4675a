"""The records API for the console and phones: list, read, withdraw — each within scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.exceptions import (
    ClientException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.params import FromPath, QueryParameter

from server.accounts.auth import csrf_for_sessions
from server.connections import run_write
from server.db import SQL, bump_seq
from server.records.serialize import fetch_records, read_connection, records_by_id
from server.records.tables import EDITABLE, STATUSES
from server.records.visibility import visible_condition
from server.sync.openapi import error_responses
from server.sync.schemas import UUID_PATTERN, ServerRecord

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# Months a report can ask for; outside them a date cannot even be built in every time zone.
_MONTH_YEARS = (2000, 2100)
_UUID = re.compile(UUID_PATTERN)
_INT_MAX = 2_147_483_647  # an SQL integer; a larger id is no row, not a driver error


class RecordPage(msgspec.Struct):
    items: list[ServerRecord]
    total: int
    page: int
    per_page: int


def _month_range(month: str, tz) -> tuple[datetime, datetime]:
    m = _MONTH.match(month)
    if not m or not _MONTH_YEARS[0] <= int(m.group(1)) <= _MONTH_YEARS[1]:
        raise ClientException(
            f"month must be YYYY-MM, {_MONTH_YEARS[0]}–{_MONTH_YEARS[1]}.",
            extra={"error": "bad_month"},
        )
    year, mon = int(m.group(1)), int(m.group(2))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@get(
    "/api/v1/records",
    tags=["records"],
    summary="List records in your scope",
    responses=error_responses((400, "bad_month, bad_status"), (401, "token_missing")),
)
async def list_records(
    request: Request,
    team_id: Annotated[int | None, QueryParameter(ge=1, le=_INT_MAX)] = None,
    status: Annotated[str | None, QueryParameter()] = None,
    month: Annotated[
        str | None, QueryParameter(description="YYYY-MM, deployment time zone")
    ] = None,
    page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
) -> RecordPage:
    """Newest service first. Volunteers see their own, coordinators their unit subtree."""
    settings = request.app.state.settings
    if status is not None and status not in STATUSES:
        raise ClientException(
            f"status must be one of {', '.join(STATUSES)}.", extra={"error": "bad_status"}
        )
    async with read_connection() as db:
        cond, args = await visible_condition(db, request.user)
        where = [cond, "r.deleted_at IS NULL"]
        if team_id is not None:
            where.append("r.team = ?")
            args.append(team_id)
        if status is not None:
            where.append("r.status = ?")
            args.append(status)
        if month is not None:
            start, end = _month_range(month, settings.tz)
            where.append("r.occurred_at >= ? AND r.occurred_at < ?")
            args += [start, end]
        sql_where = " AND ".join(where)
        offset = (page - 1) * per_page
        total = int(
            await db.fetchval(f"SELECT COUNT(*) FROM service_record r WHERE {sql_where}", *args)
        )
        items = await fetch_records(
            db,
            sql_where,
            *args,
            tail=f"ORDER BY r.occurred_at DESC, r.id LIMIT {per_page} OFFSET {offset}",
        )
    return RecordPage(items=items, total=total, page=page, per_page=per_page)


def _not_found() -> NotFoundException:
    # The same answer whether the id exists out of scope or not at all: nothing leaks.
    return NotFoundException("No such record.", extra={"error": "not_found"})


def _check_id(record_id: str) -> None:
    """Every record id is a phone-made UUID; anything else (a NUL, which PostgreSQL refuses to
    even compare) is answered like a missing record without asking the database."""
    if not _UUID.fullmatch(record_id):
        raise _not_found()


async def _visible(db, record_id: str, cond: str, args: list) -> ServerRecord:
    where = f"r.id = ? AND r.deleted_at IS NULL AND {cond}"
    found = await fetch_records(db, where, record_id, *args)
    if not found:
        raise _not_found()
    return found[0]


@get(
    "/api/v1/records/{record_id:str}",
    tags=["records"],
    summary="One record in your scope",
    responses=error_responses((401, "token_missing"), (404, "not_found (also when out of scope)")),
)
async def get_record(request: Request, record_id: FromPath[str]) -> ServerRecord:
    _check_id(record_id)
    async with read_connection() as db:
        cond, args = await visible_condition(db, request.user)
        return await _visible(db, record_id, cond, args)


@post(
    "/api/v1/records/{record_id:str}/withdraw",
    tags=["records"],
    summary="Withdraw your own record",
    status_code=200,
    guards=[csrf_for_sessions],
    opt={"exclude_from_csrf": True},
    responses=error_responses(
        (401, "token_missing"),
        (403, "not_author, csrf_failed"),
        (404, "not_found"),
        (409, "not_editable"),
    ),
)
async def withdraw_record(request: Request, record_id: FromPath[str]) -> ServerRecord:
    """Only the author, and only while the record is submitted or returned."""
    _check_id(record_id)
    who = request.user
    now = datetime.now(UTC)
    async with read_connection() as rdb:
        cond, args = await visible_condition(rdb, who)

    async def change(db: SQL) -> ServerRecord:
        seq = await bump_seq(db)
        before = await _visible(db, record_id, cond, args)
        if before.author_id != who.id:
            raise PermissionDeniedException(
                "Only the author may withdraw a record.", extra={"error": "not_author"}
            )
        if before.status not in EDITABLE:
            exc = ClientException(
                f"A {before.status} record cannot be withdrawn.", extra={"error": "not_editable"}
            )
            exc.status_code = 409
            raise exc
        await db.execute(
            "UPDATE service_record SET status = 'withdrawn', version = version + 1,"
            " change_seq = ?, updated_at = ? WHERE id = ?",
            seq,
            now,
            record_id,
        )
        after = (await records_by_id(db, [record_id]))[record_id]
        await db.execute(
            "INSERT INTO audit_event (at, actor, device, action, record_id, before, after)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            now,
            who.id,
            who.device_id,
            "record.withdraw",
            record_id,
            msgspec.json.encode(before).decode(),
            msgspec.json.encode(after).decode(),
        )
        return after

    return await run_write(change)


ROUTES = [list_records, get_record, withdraw_record]
