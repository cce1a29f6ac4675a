"""Storing one pushed batch: the ingest hot path.

No ORM objects here: a batch is one write transaction that takes the change number first (which
queues concurrent batches on the counter row, so "does this id exist?" is always answered after
every earlier batch committed), reads the batch's existing ids in one query, classifies each
record, then writes with ``executemany``. Only edits cost a statement per record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from server.accounts.auth import Principal
from server.db import SQL, bump_seq, is_postgres
from server.records.serialize import any_of, read_connection
from server.settings import Settings
from server.sync import validate
from server.sync.schemas import (
    ActivityIn,
    ActivityResult,
    PushEnvelope,
    PushResponse,
    RecordIn,
    RecordResult,
)
from server.sync.store_records import Item, RecordBatch
from server.sync.writer import writing

INSERT_ACTIVITY = (
    "INSERT INTO activity (id, team, title, date, place, leader, started_at, ended_at,"
    " content_hash, created_at, change_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
UPDATE_ACTIVITY = (
    "UPDATE activity SET team=?, title=?, date=?, place=?, started_at=?, ended_at=?,"
    " content_hash=?, change_seq=? WHERE id=?"
)


async def load_lookups(principal: Principal, recs: list[RecordIn], acts: list[ActivityIn]):
    async with read_connection() as db:
        teams = {
            r["team"]
            for r in await db.fetch(
                "SELECT m.team FROM membership m JOIN team t ON t.id = m.team"
                ' WHERE m."user" = ? AND m.active AND t.active',
                principal.id,
            )
        }
        members: dict[int, set[int]] = {}
        cond, args = any_of(db, "team", sorted(teams))
        for r in await db.fetch(
            f'SELECT team, "user" FROM membership WHERE active AND {cond}', *args
        ):
            members.setdefault(r["team"], set()).add(r["user"])
        categories = {
            r["code"]: (r["id"], bool(r["quantity_unit"]))
            for r in await db.fetch("SELECT id, code, quantity_unit FROM category")
        }
        wanted = sorted({r.activity_id for r in recs if r.activity_id} - {a.id for a in acts})
        cond, args = any_of(db, "id", wanted)
        activities = {
            r["id"]: r["team"]
            for r in await db.fetch(f"SELECT id, team FROM activity WHERE {cond}", *args)
        }
        unit_ids = sorted({r.place_unit_id for r in recs if r.place_unit_id})
        cond, args = any_of(db, "id", unit_ids)
        units = {r["id"] for r in await db.fetch(f"SELECT id FROM unit WHERE {cond}", *args)}
    return validate.Lookups(principal.id, teams, members, categories, activities, units)


async def ingest(principal: Principal, env: PushEnvelope, settings: Settings) -> PushResponse:
    now = datetime.now(UTC)
    skew = round((env.client_time - now).total_seconds())
    skewed = abs(skew) > settings.clock_skew_seconds
    # A phone whose clock is off is judged by its own clock, so its records are not "future".
    clock = env.client_time if skewed else now

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
        try:
            decoded.append((i, validate.decode(raw, RecordIn)))
        except validate.Invalid as bad:
            results[i] = RecordResult(i, validate.item_id(raw), "invalid", errors=bad.errors)

    lk = await load_lookups(principal, [r for _, r in decoded], [a for _, a in acts])
    good_acts = []
    for i, act in acts:
        if errors := validate.check_activity(act, lk):
            act_results[i] = ActivityResult(i, act.id, "invalid", errors=errors)
        else:
            good_acts.append((i, act, validate.activity_hash(act)))
            lk.activities[act.id] = act.team_id
    items: list[Item] = []
    tolerance = settings.future_tolerance_seconds
    for i, rec in decoded:
        if errors := validate.check_record(rec, lk, clock, tolerance):
            results[i] = RecordResult(i, rec.id, "invalid", errors=errors)
            continue
        validate.normalise(rec)
        items.append(Item(i, rec, validate.record_hash(rec)))

    batch = RecordBatch(principal, lk, env, now, skew if skewed else None, skewed, is_postgres())
    batch.prepare(items)
    async with writing() as db:
        # First, so batches queue here and every check below sees all earlier batches.
        seq = await bump_seq(db)
        if good_acts:
            await _apply_activities(db, principal.id, now, seq, good_acts, act_results)
        if items:
            await batch.apply(db, seq)
    batch.results(results)
    return PushResponse(
        server_time=now,
        clock_skew_s=skew,
        clock_skewed=skewed,
        activities=act_results,  # type: ignore[arg-type]
        results=results,  # type: ignore[arg-type]
    )


async def _apply_activities(db: SQL, me: int, now, seq: int, acts, out: list) -> None:
    cond, args = any_of(db, "id", [a.id for _, a, _ in acts])
    existing = {
        r["id"]: r
        for r in await db.fetch(
            f"SELECT id, leader, content_hash FROM activity WHERE {cond}", *args
        )
    }
    for i, act, h in acts:
        row = existing.get(act.id)
        if row is None:
            await db.execute(
                INSERT_ACTIVITY,
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
            existing[act.id] = {"id": act.id, "leader": me, "content_hash": h}
            out[i] = ActivityResult(i, act.id, "created")
        elif row["leader"] != me:
            out[i] = ActivityResult(
                i, act.id, "forbidden", message="Only the leader of this activity may change it."
            )
        elif row["content_hash"] == h:
            out[i] = ActivityResult(i, act.id, "duplicate")
        else:
            await db.execute(
                UPDATE_ACTIVITY,
                act.team_id,
                act.title,
                act.date,
                act.place,
                act.started_at,
                act.ended_at,
                h,
                seq,
                act.id,
            )
            row["content_hash"] = h
            out[i] = ActivityResult(i, act.id, "updated")
