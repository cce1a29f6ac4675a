"""Storing one pushed batch: the ingest hot path.

No ORM objects here. Items are decoded and validated before any lock (msgspec constraints, then
rules against reference data loaded once per batch). Then one write transaction takes the
change number first, which queues concurrent batches on the counter row, so "does this id
exist?" is always answered after every earlier batch committed; ``store_records`` classifies
the batch against one query of existing ids and writes it in bulk. Only edits cost a statement
per record.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from server.accounts.auth import Principal
from server.connections import run_write
from server.db import SQL, bump_seq, is_postgres
from server.records.serialize import any_of, read_connection
from server.settings import Settings
from server.sync import validate
from server.sync.schemas import (
    ActivityIn,
    ActivityResult,
    FieldError,
    PushEnvelope,
    PushResponse,
    RecordIn,
    RecordResult,
)
from server.sync.store_records import Item, RecordBatch, bulk_insert

# Decoding a batch is milliseconds of CPU; yielding inside it lets other requests' database
# round trips (a batch holding the counter lock on PostgreSQL) go on meanwhile.
_YIELD_EVERY = 100
# clock_skew_s is an SQL integer; a phone clock more than 68 years off is stored as this.
_SKEW_LIMIT = 2**31 - 1

INSERT_ACTIVITY = (
    "INSERT INTO activity (id, team, title, date, place, leader, started_at, ended_at,"
    " content_hash, created_at, change_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
# The team is never updated: an activity's records are counted for its team.
UPDATE_ACTIVITY = (
    "UPDATE activity SET title=?, date=?, place=?, started_at=?, ended_at=?,"
    " content_hash=?, change_seq=? WHERE id=?"
)
_NOT_LEADER = "Only the leader of this activity may change it."


def _team_changed_error() -> FieldError:
    return FieldError(
        "team_id", "team_changed", "An activity cannot move to another team; start a new one."
    )


async def load_lookups(principal: Principal, recs: list[RecordIn], acts: list[ActivityIn]):
    """Everything validation needs, in as few queries as the batch allows."""
    async with read_connection() as db:
        members: dict[int, set[int]] = {}
        for r in await db.fetch(
            'SELECT m.team, m."user" FROM membership m JOIN team t ON t.id = m.team'
            " WHERE m.active AND t.active AND m.team IN"
            ' (SELECT team FROM membership WHERE "user" = ? AND active)',
            principal.id,
        ):
            members.setdefault(r["team"], set()).add(r["user"])
        teams = {team for team, users in members.items() if principal.id in users}
        categories = {
            r["code"]: (r["id"], bool(r["quantity_unit"]))
            for r in await db.fetch("SELECT id, code, quantity_unit FROM category")
        }
        # Every activity the batch names, sent in it or not: the database's team and leader are
        # what count, whatever the batch claims about an activity that already exists.
        stored: dict[str, tuple[int, int]] = {}
        wanted = sorted({r.activity_id for r in recs if r.activity_id} | {a.id for a in acts})
        if wanted:
            cond, args = any_of(db, "id", wanted)
            sql = f"SELECT id, team, leader FROM activity WHERE {cond}"
            stored = {r["id"]: (r["team"], r["leader"]) for r in await db.fetch(sql, *args)}
        units: set[int] = set()
        if unit_ids := sorted({r.place_unit_id for r in recs if r.place_unit_id}):
            cond, args = any_of(db, "id", unit_ids)
            units = {r["id"] for r in await db.fetch(f"SELECT id FROM unit WHERE {cond}", *args)}
    activities = {aid: team for aid, (team, _) in stored.items()}
    return validate.Lookups(principal.id, teams, members, categories, activities, units, stored)


async def ingest(principal: Principal, env: PushEnvelope, settings: Settings) -> PushResponse:
    now = datetime.now(UTC)
    skew = round((env.client_time - now).total_seconds())
    skewed = abs(skew) > settings.clock_skew_seconds
    # A phone whose clock is off has its service times judged corrected by the skew.
    correction = skew if skewed else 0

    act_results: list[ActivityResult | None] = [None] * len(env.activities)
    acts: list[tuple[int, ActivityIn]] = []
    for i, raw in enumerate(env.activities):
        try:
            acts.append((i, validate.decode(raw, ActivityIn)))
        except validate.Invalid as bad:
            act_results[i] = ActivityResult(i, validate.item_id(raw), "invalid", errors=bad.errors)
    results: list[RecordResult | None] = [None] * len(env.records)
    decoded: list[tuple[int, RecordIn]] = []
    for i, raw in enumerate(env.records):
        if i % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        try:
            decoded.append((i, validate.decode(raw, RecordIn)))
        except validate.Invalid as bad:
            results[i] = RecordResult(i, validate.item_id(raw), "invalid", errors=bad.errors)

    lk = await load_lookups(principal, [r for _, r in decoded], [a for _, a in acts])
    good_acts = []
    for i, act in acts:
        if refused := _screen_activity(i, act, lk):
            act_results[i] = refused
        else:
            good_acts.append((i, act, validate.activity_hash(act)))
            # A new activity: records of this batch may name it (the first one sent wins).
            lk.activities.setdefault(act.id, act.team_id)
    items: list[Item] = []
    tolerance = settings.future_tolerance_seconds
    for n, (i, rec) in enumerate(decoded):
        if n % _YIELD_EVERY == _YIELD_EVERY - 1:
            await asyncio.sleep(0)
        if errors := validate.check_record(rec, lk, now, correction, tolerance):
            results[i] = RecordResult(i, rec.id, "invalid", errors=errors)
            continue
        validate.normalise(rec)
        items.append(Item(i, rec, validate.record_hash(rec)))

    stored_skew = max(-_SKEW_LIMIT, min(_SKEW_LIMIT, skew)) if skewed else None
    batch = RecordBatch(principal, lk, env, now, stored_skew, skewed, is_postgres())
    batch.prepare(items)

    async def write(db: SQL) -> None:
        # First, so batches queue here and every check below sees all earlier batches.
        seq = await bump_seq(db)
        if good_acts:
            await _apply_activities(db, principal.id, now, seq, good_acts, act_results)
        if items:
            await batch.apply(db, seq)

    if good_acts or items:  # a batch of only invalid items writes nothing
        await run_write(write)
    batch.results(results)
    return PushResponse(
        server_time=now,
        clock_skew_s=skew,
        clock_skewed=skewed,
        activities=act_results,  # type: ignore[arg-type]
        results=results,  # type: ignore[arg-type]
    )


def _screen_activity(i: int, act: ActivityIn, lk: validate.Lookups) -> ActivityResult | None:
    """The refusal an activity gets before the lock, judged against the database's row."""
    stored = lk.stored_activities.get(act.id)
    if stored is not None and stored[1] != lk.author:
        return ActivityResult(i, act.id, "forbidden", message=_NOT_LEADER)
    errors = validate.check_activity(act, lk)
    if stored is not None and stored[0] != act.team_id:
        errors.append(_team_changed_error())
    return ActivityResult(i, act.id, "invalid", errors=errors) if errors else None


async def _apply_activities(db: SQL, me: int, now, seq: int, acts, out: list) -> None:
    """Inside the lock, against the rows as they are now (another batch may have just made one):
    new ids are inserted in one go; only the leader's same-team changes are applied."""
    cond, args = any_of(db, "id", [a.id for _, a, _ in acts])
    existing = {
        r["id"]: r
        for r in await db.fetch(
            f"SELECT id, team, leader, content_hash FROM activity WHERE {cond}", *args
        )
    }
    new_rows, updates = [], []
    for i, act, h in acts:
        row = existing.get(act.id)
        if row is None:
            new_rows.append(
                (
                    act.id,
                    act.team_id,
                    act.title,
                    act.date,
                    act.place,
                    me,
                    act.started_at,
                    act.ended_at,
                    h,
                    now,
                    seq,
                )
            )
            existing[act.id] = {"team": act.team_id, "leader": me, "content_hash": h}
            out[i] = ActivityResult(i, act.id, "created")
        elif row["leader"] != me:
            out[i] = ActivityResult(i, act.id, "forbidden", message=_NOT_LEADER)
        elif row["team"] != act.team_id:
            out[i] = ActivityResult(i, act.id, "invalid", errors=[_team_changed_error()])
        elif row["content_hash"] == h:
            out[i] = ActivityResult(i, act.id, "duplicate")
        else:
            row["content_hash"] = h
            updates.append(
                (act.title, act.date, act.place, act.started_at, act.ended_at, h, seq, act.id)
            )
            out[i] = ActivityResult(i, act.id, "updated")
    await bulk_insert(db, INSERT_ACTIVITY, new_rows)
    for values in updates:  # a leader ending an outing: rare, one at a time
        await db.execute(UPDATE_ACTIVITY, *values)
