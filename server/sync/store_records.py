"""Writing the records of one pushed batch: the part of the hot path that holds the write lock.

Everything that does not depend on what the database already holds (row tuples, hashes) is
built in ``prepare`` before the lock; ``apply`` runs inside the batch's transaction and only
classifies and writes; ``results`` builds the answer after the commit.
"""

from __future__ import annotations

import functools
import itertools
import re
from datetime import UTC, datetime

import msgspec

from server.accounts.auth import Principal
from server.db import SQL
from server.records.serialize import any_of, records_by_id
from server.records.tables import EDITABLE
from server.sync.schemas import FieldError, PushEnvelope, RecordIn, RecordResult, ServerRecord
from server.sync.validate import Lookups

# Every value a placeholder, so the same statement serves COPY on PostgreSQL.
INSERT_RECORD = (
    "INSERT INTO service_record (id, author, team, category, activity, occurred_at, duration_min,"
    " place, place_unit, beneficiaries, description, quantity, lat, lng, accuracy_m,"
    " photo_consent, photos, missing_media, credited, source, content_hash, device,"
    " client_created_at, client_sent_at, received_at, updated_at, clock_skew_s, clock_skewed,"
    " status, review_note, version, change_seq)"
    f" VALUES ({','.join('?' * 32)})"
)
_NEW = ("submitted", "", 1)  # status, review_note, version of a created record
UPDATE_RECORD = (
    "UPDATE service_record SET team=?, category=?, activity=?, occurred_at=?, duration_min=?,"
    " place=?, place_unit=?, beneficiaries=?, description=?, quantity=?, lat=?, lng=?,"
    " accuracy_m=?, photo_consent=?, photos=?, missing_media=?, credited=?, source=?,"
    " status='submitted', version=version+1, content_hash=?, device=?, client_created_at=?,"
    " client_sent_at=?, updated_at=?, clock_skew_s=?, clock_skewed=?, change_seq=?"
    " WHERE id=?"
)
INSERT_COMPANION = 'INSERT INTO record_companion (record, "user") VALUES (?, ?)'
INSERT_PHOTO = "INSERT INTO record_photo (record, sha256, position) VALUES (?, ?, ?)"
INSERT_AUDIT = (
    "INSERT INTO audit_event (at, actor, device, action, record_id, before, after)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MISSING_AT = 15  # index of missing_media in a content tuple
_WRONG_ACTIVITY = [
    FieldError("activity_id", "unknown", "No such activity of this team; send it first.")
]
_COPY_FROM = 20  # rows; below this COPY's set-up costs more than it saves
_INSERT = re.compile(r"^INSERT INTO (\w+) \(([^)]*)\) VALUES ")
_json = msgspec.json.encode


@functools.lru_cache(maxsize=64)
def _multi_row(sql: str, n: int) -> str:
    head, _, row = sql.partition(" VALUES ")
    return f"{head} VALUES {','.join([row] * n)}"


async def bulk_insert(db: SQL, sql: str, rows: list[tuple]) -> None:
    """Insert many rows of an all-placeholder INSERT, as cheaply as each driver allows.

    PostgreSQL: COPY (binary), several times cheaper per row than executemany, and the batch
    holds the counter lock for less time. SQLite: multi-row INSERTs, because sqlite3's
    executemany drops and retakes the GIL around every row, so while the event loop decodes the
    next batch each row waits for the GIL; one statement binds everything at once and then runs
    without it.
    """
    if db.pg and len(rows) >= _COPY_FROM:
        table, columns = _copy_target(sql)
        await db.conn.copy_records_to_table(table, records=rows, columns=columns)
        return
    if db.pg or len(rows) < 2:
        await db.executemany(sql, rows)
        return
    step = max(1, min(500, 30000 // len(rows[0])))  # SQLite allows 32766 parameters
    for i in range(0, len(rows), step):
        chunk = rows[i : i + step]
        await db.execute(_multi_row(sql, len(chunk)), *itertools.chain.from_iterable(chunk))


@functools.lru_cache(maxsize=16)
def _copy_target(sql: str) -> tuple[str, list[str]]:
    m = _INSERT.match(sql)
    if m is None:
        raise ValueError(f"not a plain INSERT: {sql}")
    return m.group(1), [c.strip().strip('"') for c in m.group(2).split(",")]


def _sqlite_time(value: datetime | None) -> str | None:
    """What Piccolo's SQLite adapter stores, made here so binding calls no Python adapter."""
    return None if value is None else str(value.astimezone(UTC))


def _same(value: datetime | None) -> datetime | None:
    return value


class Item:
    __slots__ = ("index", "rec", "hash", "content", "outcome")

    def __init__(self, index: int, rec: RecordIn, hash_: str) -> None:
        self.index = index
        self.rec = rec
        self.hash = hash_
        self.content: tuple = ()
        # ("created", missing) | ("updated", version, missing) | ("duplicate", version, status,
        # missing) | ("conflict", reason) | ("forbidden",) | ("invalid", errors)
        self.outcome: tuple = ()


class RecordBatch:
    def __init__(
        self,
        principal: Principal,
        lk: Lookups,
        env: PushEnvelope,
        now: datetime,
        skew_s: int | None,
        skewed: bool,
        pg: bool,
    ) -> None:
        self.me = principal.id
        self.device = principal.device_id
        self.lk = lk
        self.now = now
        self.time = _same if pg else _sqlite_time
        self.now_v = self.time(now)
        self.client_time = self.time(env.client_time)
        self.tail = (self.now_v, self.now_v, skew_s, skewed)
        self.items: list[Item] = []
        self.server: dict[str, ServerRecord] = {}

    def _content(self, rec: RecordIn, h: str, missing: bool) -> tuple:
        """The content columns insert and update share, in their order."""
        return (
            rec.team_id,
            self.lk.categories[rec.category][0],
            rec.activity_id,
            self.time(rec.occurred_at),
            rec.duration_min,
            rec.place,
            rec.place_unit_id,
            rec.beneficiaries,
            rec.description,
            rec.quantity,
            rec.lat,
            rec.lng,
            rec.accuracy_m,
            rec.photo_consent,
            ",".join(rec.photos),
            missing,
            1 + len(rec.companions),
            rec.source,
            h,
            self.device,
            self.time(rec.created_at),
            self.client_time,
        )

    def prepare(self, items: list[Item]) -> None:
        """Before the lock: every row as if created and complete."""
        for it in items:
            it.content = self._content(it.rec, it.hash, False)
        self.items = items

    async def apply(self, db: SQL, seq: int) -> None:
        """Inside the transaction, after ``bump_seq``: classify against the database, write."""
        items, me = self.items, self.me
        activity_team = await self._activity_teams(db)
        cond, args = any_of(db, "id", [it.rec.id for it in items])
        existing = {
            r["id"]: r
            for r in await db.fetch(
                "SELECT id, author, status, version, content_hash, photos, deleted_at"
                f" FROM service_record WHERE {cond}",
                *args,
            )
        }
        shas = {s for it in items for s in it.rec.photos}
        for row in existing.values():
            if row["photos"]:
                shas.update(row["photos"].split(","))
        present: set[str] = set()
        if shas:
            cond, args = any_of(db, "sha256", sorted(shas))
            sql = f"SELECT sha256 FROM photo WHERE {cond}"
            present = {r["sha256"] for r in await db.fetch(sql, *args)}

        new_rows, companions, photos, audit, updates, conflicts = [], [], [], [], [], []
        touched: set[str] = set()
        for it in items:
            rec = it.rec
            if rec.activity_id is not None and activity_team.get(rec.activity_id) != rec.team_id:
                it.outcome = ("invalid", _WRONG_ACTIVITY)
                continue
            row = existing.get(rec.id)
            missing = [s for s in rec.photos if s not in present] if rec.photos else []
            if missing:
                it.content = it.content[:_MISSING_AT] + (True,) + it.content[_MISSING_AT + 1 :]
            if row is None:
                new_rows.append((rec.id, me, *it.content, *self.tail, *_NEW, seq))
                if rec.companions:
                    companions.extend((rec.id, uid) for uid in rec.companions)
                if rec.photos:
                    photos.extend((rec.id, sha, pos) for pos, sha in enumerate(rec.photos))
                audit.append(
                    (
                        self.now_v,
                        me,
                        self.device,
                        "record.create",
                        rec.id,
                        None,
                        # Compact: the row itself is the full "after" until it first changes.
                        f'{{"version":1,"status":"submitted","content_hash":"{it.hash}"}}',
                    )
                )
                existing[rec.id] = {
                    "author": me,
                    "status": "submitted",
                    "version": 1,
                    "content_hash": it.hash,
                    "photos": ",".join(rec.photos),
                    "deleted_at": None,
                }
                touched.add(rec.id)
                it.outcome = ("created", missing)
                continue
            if row["author"] != me:
                it.outcome = ("forbidden",)
                continue
            reason = None
            if row["deleted_at"] is not None:
                reason = "deleted"
            elif row["status"] == "withdrawn":
                reason = "withdrawn"
            elif row["content_hash"] == it.hash:
                had = row["photos"].split(",") if row["photos"] else []
                it.outcome = (
                    "duplicate",
                    row["version"],
                    row["status"],
                    [s for s in had if s not in present],
                )
                continue
            elif rec.base_version is None:
                reason = "exists"
            elif row["status"] not in EDITABLE:
                reason = "not_editable"
            elif rec.base_version != row["version"] or rec.id in touched:
                reason = "stale"
            if reason:
                it.outcome = ("conflict", reason)
                conflicts.append(rec.id)
                continue
            touched.add(rec.id)
            row.update(version=row["version"] + 1, status="submitted", content_hash=it.hash)
            row["photos"] = ",".join(rec.photos)
            updates.append(it)
            it.outcome = ("updated", row["version"], missing)

        if new_rows:
            await bulk_insert(db, INSERT_RECORD, new_rows)
            await bulk_insert(db, INSERT_COMPANION, companions)
            await bulk_insert(db, INSERT_PHOTO, photos)
            await bulk_insert(db, INSERT_AUDIT, audit)
        if updates:
            await self._apply_updates(db, updates, seq)
        if conflicts:
            self.server = await records_by_id(db, conflicts)

    async def _activity_teams(self, db: SQL) -> dict[str, int]:
        """The team of every activity the batch's records name, as committed rows say now.

        Validation already checked this before the lock; here, after this batch's own activities
        were written, it is final even if another batch created one of those ids meanwhile.
        """
        ids = sorted({it.rec.activity_id for it in self.items if it.rec.activity_id})
        if not ids:
            return {}
        cond, args = any_of(db, "id", ids)
        rows = await db.fetch(f"SELECT id, team FROM activity WHERE {cond}", *args)
        return {r["id"]: r["team"] for r in rows}

    async def _apply_updates(self, db: SQL, updates: list[Item], seq: int) -> None:
        ids = [it.rec.id for it in updates]
        before = await records_by_id(db, ids)
        for it in updates:
            await db.execute(UPDATE_RECORD, *it.content, *self.tail[1:], seq, it.rec.id)
        cond, args = any_of(db, "record", ids)
        await db.execute(f"DELETE FROM record_companion WHERE {cond}", *args)
        await db.execute(f"DELETE FROM record_photo WHERE {cond}", *args)
        await bulk_insert(
            db,
            INSERT_COMPANION,
            [(it.rec.id, uid) for it in updates for uid in it.rec.companions],
        )
        await bulk_insert(
            db,
            INSERT_PHOTO,
            [(it.rec.id, sha, pos) for it in updates for pos, sha in enumerate(it.rec.photos)],
        )
        after = await records_by_id(db, ids)
        rows = [
            (
                self.now_v,
                self.me,
                self.device,
                "record.update",
                rid,
                _json(before.get(rid)).decode(),
                _json(after.get(rid)).decode(),
            )
            for rid in ids
        ]
        await bulk_insert(db, INSERT_AUDIT, rows)

    def results(self, out: list[RecordResult | None]) -> None:
        """After the commit: one result per stored-or-refused item, at its request index."""
        for it in self.items:
            kind, i, rid = it.outcome[0], it.index, it.rec.id
            o = it.outcome
            if kind == "created":
                out[i] = RecordResult(i, rid, "created", 1, "submitted", missing_photos=o[1])
            elif kind == "duplicate":
                out[i] = RecordResult(i, rid, "duplicate", o[1], o[2], missing_photos=o[3])
            elif kind == "updated":
                out[i] = RecordResult(i, rid, "updated", o[1], "submitted", missing_photos=o[2])
            elif kind == "conflict":
                out[i] = RecordResult(i, rid, "conflict", reason=o[1], server=self.server.get(rid))
            elif kind == "invalid":
                out[i] = RecordResult(i, rid, "invalid", errors=o[1])
            else:
                out[i] = RecordResult(
                    i, rid, "forbidden", message="This id belongs to another person's record."
                )
