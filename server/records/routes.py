"""The records API for the console and phones: list, read, withdraw — each within scope."""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import (
    ClientException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.handlers import BaseRouteHandler
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash
from litestar.params import FromPath, QueryParameter

from server.connections import run_write
from server.db import SQL, bump_seq
from server.records.serialize import fetch_records, read_connection, records_by_id
from server.records.tables import EDITABLE, STATUSES
from server.records.visibility import visible_condition
from server.sync.openapi import error_responses
from server.sync.schemas import ServerRecord

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class RecordPage(msgspec.Struct):
    items: list[ServerRecord]
    total: int
    page: int
    per_page: int


def csrf_for_sessions(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Litestar's CSRF check, for console sessions only.

    The handler opts out of the CSRF middleware so a phone's bearer token (which a browser never
    sends by itself) needs no cookie; a session is checked here exactly as the middleware does.
    """
    if connection.user.via != "session":
        return
    config = connection.app.csrf_config
    header = connection.headers.get(config.header_name) or ""
    cookie = connection.cookies.get(config.cookie_name) or ""

    def decode(token: str) -> str | None:
        if len(token) < CSRF_SECRET_LENGTH + 1:
            return None
        secret, digest = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        expected = generate_csrf_hash(token=secret, secret=config.secret)
        return secret if hmac.compare_digest(digest, expected) else None

    a, b = decode(header), decode(cookie)
    if a is None or b is None or not hmac.compare_digest(a, b):
        raise PermissionDeniedException(
            "CSRF token verification failed", extra={"error": "csrf_failed"}
        )


def _month_range(month: str, tz) -> tuple[datetime, datetime]:
    m = _MONTH.match(month)
    if not m:
        raise ClientException("month must be YYYY-MM.", extra={"error": "bad_month"})
    year, mon = int(m.group(1)), int(m.group(2))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


@get(
    "/api/v1/records",
    tags=["records"],
    summary="List records in your scope",
    responses=error_responses((400, "bad_month"), (401, "token_missing")),
)
async def list_records(
    request: Request,
    team_id: Annotated[int | None, QueryParameter(ge=1)] = None,
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
        raise ClientException(f"status must be one of {', '.join(STATUSES)}.")
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


async def _visible(db, record_id: str, cond: str, args: list) -> ServerRecord:
    where = f"r.id = ? AND r.deleted_at IS NULL AND {cond}"
    found = await fetch_records(db, where, record_id, *args)
    if not found:
        # The same answer whether the id exists out of scope or not at all: nothing leaks.
        raise NotFoundException("No such record.", extra={"error": "not_found"})
    return found[0]


@get(
    "/api/v1/records/{record_id:str}",
    tags=["records"],
    summary="One record in your scope",
    responses=error_responses((401, "token_missing"), (404, "not_found (also when out of scope)")),
)
async def get_record(request: Request, record_id: FromPath[str]) -> ServerRecord:
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
