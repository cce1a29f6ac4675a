"""Push throughput against the raw bulk-insert rate of the same rows through the same driver.

Starts the real server (``python -m server serve``) on a fresh database, loads the demo world,
pushes N records in batches of 500 from several concurrent httpx clients, then inserts the same
rows straight into ``service_record`` with the driver's ``executemany`` (one transaction per 500
rows, into another fresh database) and prints both rates, their ratio and the server's peak RSS.

    .venv/bin/python bench/sync_push.py --db both --records 100000 --clients 4
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import msgspec
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import create_pg_database, drop_pg_database  # noqa: E402

VOLUNTEERS = ["vol_wang", "vol_li", "vol_zhao", "vol_chen"]
RAW_INSERT = (
    "INSERT INTO service_record (id, author, team, category, activity, occurred_at, duration_min,"
    " place, place_unit, beneficiaries, description, quantity, lat, lng, accuracy_m,"
    " photo_consent, photos, missing_media, credited, source, status, review_note, version,"
    " content_hash, device, client_created_at, client_sent_at, received_at, updated_at,"
    " clock_skew_s, clock_skewed, change_seq)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


@dataclass
class Target:
    kind: str  # sqlite | postgres
    url: str
    data_dir: Path


@dataclass
class Person:
    key: str
    user_id: int
    team_id: int
    token: str
    device_id: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def new_target(kind: str, tmp: Path, name: str) -> Target:
    data = tmp / name
    data.mkdir()
    if kind == "sqlite":
        return Target(kind, f"sqlite:///{data / 'fieldlog.sqlite'}", data)
    return Target(kind, await create_pg_database(), data)


async def drop_target(t: Target) -> None:
    if t.kind == "postgres":
        await drop_pg_database(t.url)


def env_for(t: Target, port: int = 0) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        FIELDLOG_DATA_DIR=str(t.data_dir),
        FIELDLOG_DATABASE_URL=t.url,
        FIELDLOG_PORT=str(port),
        FIELDLOG_DEMO="false",
        PYTHONPATH=str(ROOT),
    )
    return env


async def cli(t: Target, *args: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "server", *args, env=env_for(t), cwd=ROOT, stdout=subprocess.DEVNULL
    )
    if await proc.wait() != 0:
        raise SystemExit(f"'python -m server {' '.join(args)}' failed")


async def prepare(t: Target) -> list[Person]:
    """Migrate, load the demo world and give each demo volunteer a device token."""
    await cli(t, "migrate")
    await cli(t, "demo")
    from server import db
    from server.accounts.auth import issue_device_token
    from server.settings import Settings

    await db.connect(Settings(data_dir=t.data_dir, database_url=t.url))
    try:
        from server.accounts.tables import User

        rows = await User.raw(
            'SELECT u.id, u.phone, m.team FROM fl_user u JOIN membership m ON m."user" = u.id'
            " ORDER BY u.id, m.team"
        )
        people = []
        first_team = {}
        for row in rows:
            first_team.setdefault(row["phone"], (row["id"], row["team"]))
        from server.demo import USERS

        for key, _, phone, *_ in USERS:
            if key in VOLUNTEERS:
                uid, team = first_team[phone]
                token, device = await issue_device_token(uid, "bench")
                people.append(Person(key, uid, team, token, device))
    finally:
        await db.disconnect()
    return people


def make_records(n: int, people: list[Person], clients: int) -> list[list[dict]]:
    """Each client's records; realistic sizes, no photos or companions (the raw insert has
    neither, so both sides write the same rows)."""
    base = datetime.now(UTC) - timedelta(days=3)
    per_client: list[list[dict]] = [[] for _ in range(clients)]
    for i in range(n):
        c = i % clients
        p = people[c % len(people)]
        per_client[c].append(
            {
                "id": str(uuid.uuid4()),
                "team_id": p.team_id,
                "category": "straw_burning",
                "occurred_at": (base + timedelta(seconds=i)).astimezone().isoformat(),
                "duration_min": 30 + i % 200,
                "place": "张华楼村东地",
                "beneficiaries": i % 40,
                "description": "田间巡查,劝阻焚烧秸秆,宣传禁烧政策",
                "source": "live",
                "quantity": float(i % 30),
                "lat": 34.7,
                "lng": 113.7,
                "accuracy_m": 12.0,
                "created_at": (base + timedelta(seconds=i, minutes=5)).isoformat(),
            }
        )
    return per_client


class RssSampler:
    def __init__(self, pid: int) -> None:
        self.proc = psutil.Process(pid)
        self.peak = 0
        self._task: asyncio.Task | None = None

    def sample(self) -> None:
        total = 0
        try:
            for p in [self.proc, *self.proc.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
        except psutil.Error:
            return
        self.peak = max(self.peak, total)

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.05)

    def __enter__(self):
        self._task = asyncio.get_running_loop().create_task(self.run())
        return self

    def __exit__(self, *exc) -> None:
        self.sample()
        if self._task:
            self._task.cancel()


async def wait_ready(base: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as c:
        for _ in range(600):
            if proc.returncode is not None:
                raise SystemExit("the server exited during start-up")
            try:
                if (await c.get(base + "/schema/openapi.json")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    raise SystemExit("the server did not start")


async def push_all(base: str, people, per_client, batch: int) -> tuple[float, int]:
    """Pushes every client's batches concurrently; returns (seconds, records created)."""
    bodies = []
    for recs in per_client:
        client_time = datetime.now(UTC).isoformat()
        bodies.append(
            [
                msgspec.json.encode({"client_time": client_time, "records": recs[i : i + batch]})
                for i in range(0, len(recs), batch)
            ]
        )
    created = 0

    async def one_client(c: int) -> None:
        nonlocal created
        p = people[c % len(people)]
        headers = {"authorization": f"Bearer {p.token}", "content-type": "application/json"}
        async with httpx.AsyncClient(base_url=base, timeout=120) as http:
            for body in bodies[c]:
                r = await http.post("/api/v1/sync/push", content=body, headers=headers)
                if r.status_code != 200:
                    raise SystemExit(f"push failed: {r.status_code} {r.text[:300]}")
                results = msgspec.json.decode(r.content)["results"]
                bad = [x for x in results if x["result"] != "created"]
                if bad:
                    raise SystemExit(f"push result not created: {bad[0]}")
                created += len(results)

    t0 = time.perf_counter()
    await asyncio.gather(*(one_client(c) for c in range(len(per_client))))
    return time.perf_counter() - t0, created


async def bench_push(t: Target, people, per_client, batch: int) -> tuple[float, int]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "serve",
        env=env_for(t, port),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, proc)
        with RssSampler(proc.pid) as rss:
            seconds, created = await push_all(base, people, per_client, batch)
        return created / seconds, rss.peak
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 30)


def raw_rows(people, per_client, category_id: int) -> list[tuple]:
    now = datetime.now(UTC)
    rows = []
    for c, recs in enumerate(per_client):
        p = people[c % len(people)]
        for r in recs:
            rows.append(
                (
                    r["id"],
                    p.user_id,
                    r["team_id"],
                    category_id,
                    None,
                    datetime.fromisoformat(r["occurred_at"]),
                    r["duration_min"],
                    r["place"],
                    None,
                    r["beneficiaries"],
                    r["description"],
                    r["quantity"],
                    r["lat"],
                    r["lng"],
                    r["accuracy_m"],
                    False,
                    "",
                    False,
                    1,
                    "live",
                    "submitted",
                    "",
                    1,
                    uuid.uuid4().hex * 2,
                    p.device_id,
                    datetime.fromisoformat(r["created_at"]),
                    now,
                    now,
                    now,
                    None,
                    False,
                    1,
                )
            )
    return rows


async def bench_raw(t: Target, people, per_client, batch: int) -> float:
    """The same rows through the same driver: executemany, one transaction per batch."""
    if t.kind == "sqlite":
        import aiosqlite

        from server import db
        from server.settings import Settings

        # Piccolo's connection settings (its type adapters, foreign keys on), as the server has.
        engine = db.engine_for(Settings(data_dir=t.data_dir, database_url=t.url))
        conn = await engine.get_connection()
        assert isinstance(conn, aiosqlite.Connection)
        cat = (
            await (
                await conn.execute("SELECT id FROM category WHERE code='straw_burning'")
            ).fetchone()
        )["id"]
        rows = raw_rows(people, per_client, cat)
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            await conn.execute("BEGIN IMMEDIATE")
            await conn.executemany(RAW_INSERT, rows[i : i + batch])
            await conn.execute("COMMIT")
        seconds = time.perf_counter() - t0
        await conn.close()
    else:
        conn = await asyncpg.connect(t.url)
        cat = await conn.fetchval("SELECT id FROM category WHERE code='straw_burning'")
        rows = raw_rows(people, per_client, cat)
        sql = RAW_INSERT
        for n in range(1, 33):
            sql = sql.replace("?", f"${n}", 1)
        t0 = time.perf_counter()
        for i in range(0, len(rows), batch):
            async with conn.transaction():
                await conn.executemany(sql, rows[i : i + batch])
        seconds = time.perf_counter() - t0
        await conn.close()
    return len(rows) / seconds


async def run(kind: str, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="fieldlog-bench-") as tmp:
        tmp_path = Path(tmp)
        served = await new_target(kind, tmp_path, "served")
        raw = await new_target(kind, tmp_path, "raw")
        try:
            people = await prepare(served)
            per_client = make_records(args.records, people, args.clients)
            push_rate, peak = await bench_push(served, people, per_client, args.batch)
            raw_people = await prepare(raw)
            raw_rate = await bench_raw(raw, raw_people, per_client, args.batch)
        finally:
            await drop_target(served)
            await drop_target(raw)
    ratio = push_rate / raw_rate
    print(
        f"{kind:9} push {push_rate:9,.0f} rec/s   raw executemany {raw_rate:9,.0f} rows/s"
        f"   ratio {ratio:6.1%}   server peak RSS {peak / 2**20:6.1f} MB",
        flush=True,
    )
    return {"kind": kind, "push": push_rate, "raw": raw_rate, "ratio": ratio, "rss": peak}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    print(f"{args.records:,} records, batches of {args.batch}, {args.clients} clients")
    failed = False
    for kind in kinds:
        r = await run(kind, args)
        failed |= r["ratio"] < 0.5 or r["rss"] >= 200 * 2**20
    print("goal (>= 50% of raw, RSS < 200 MB):", "NOT MET" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
