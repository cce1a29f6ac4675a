"""Concurrent pushes and pulls: no record twice, none lost (real concurrency on PostgreSQL)."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from server.records.tables import ServiceRecord
from server.sync import store_records
from tests.factories import record
from tests.sync_support import api_fixture, batch, pull_all, push, push_ok  # noqa: F401


@pytest.fixture
async def two_clients(app):
    transport = httpx.ASGITransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://phone-a") as a,
        httpx.AsyncClient(transport=transport, base_url="http://phone-b") as b,
    ):
        yield a, b


async def test_two_identical_pushes_at_once_leave_one_row(two_clients, world):
    a, b = two_clients
    recs = [record(world) for _ in range(20)]
    body = batch(recs)
    ra, rb = await asyncio.gather(
        push(a, world, "vol_wang", body), push(b, world, "vol_wang", body)
    )
    assert ra.status_code == rb.status_code == 200, (ra.text, rb.text)
    outcomes = sorted(
        {x["result"] for x in ra.json()["results"]} | {x["result"] for x in rb.json()["results"]}
    )
    # One of the two stored the batch, the other saw it whole: never a mix, never two rows.
    assert outcomes == ["created", "duplicate"]
    ids = [r["id"] for r in recs]
    assert await ServiceRecord.count().where(ServiceRecord.id.is_in(ids)) == 20


async def test_same_record_in_many_concurrent_batches(two_clients, world):
    a, b = two_clients
    shared = record(world)
    bodies = [batch([shared, record(world)]) for _ in range(6)]
    responses = await asyncio.gather(
        *(push(a if i % 2 else b, world, "vol_wang", body) for i, body in enumerate(bodies))
    )
    firsts = [r.json()["results"][0]["result"] for r in responses]
    assert sorted(firsts) == ["created"] + ["duplicate"] * 5
    assert await ServiceRecord.count().where(ServiceRecord.id == shared["id"]) == 1


async def test_pull_under_concurrent_writes_misses_nothing(app, api, world):
    created: list[str] = []
    done = asyncio.Event()

    async def phone(n: int) -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://p{n}") as c:
            for _ in range(8):
                recs = [record(world) for _ in range(15)]
                results = await push_ok(c, world, "vol_wang", recs)
                assert all(r["result"] == "created" for r in results)
                created.extend(r["id"] for r in recs)

    async def pusher() -> None:
        try:
            await asyncio.gather(*(phone(n) for n in range(3)))
        finally:
            done.set()

    async def puller() -> list[str]:
        seen: list[str] = []
        cursor = None
        while not done.is_set():
            records, cursor = await pull_all(api, world, "vol_wang", cursor)
            seen += [r["id"] for r in records]
            await asyncio.sleep(0)  # let the pushers run between pulls
        records, cursor = await pull_all(api, world, "vol_wang", cursor)
        return seen + [r["id"] for r in records]

    _, seen = await asyncio.gather(pusher(), puller())
    assert len(created) == 3 * 8 * 15
    assert sorted(seen) == sorted(created)  # every record, each exactly once


async def test_pull_never_passes_a_batch_still_committing(api, world, monkeypatch):
    """A batch holds its change number while it writes; a pull running meanwhile must stop
    below it and pick the batch up next time."""
    first = record(world)
    await push_ok(api, world, "vol_wang", [first])
    _, cursor = await pull_all(api, world, "vol_wang")

    # Threading events: on SQLite the batch runs in the writer thread, outside the event loop.
    inserted, release = threading.Event(), threading.Event()
    real_insert = store_records.bulk_insert

    async def paused_insert(db, sql, rows):
        await real_insert(db, sql, rows)
        if sql == store_records.INSERT_RECORD:
            inserted.set()
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # the SQLite writer thread: hold the transaction open here
                release.wait(30)
            else:
                await asyncio.to_thread(release.wait, 30)

    monkeypatch.setattr(store_records, "bulk_insert", paused_insert)
    pending = record(world)
    task = asyncio.create_task(push_ok(api, world, "vol_wang", [pending]))
    assert await asyncio.to_thread(inserted.wait, 30)
    during, cursor_during = await pull_all(api, world, "vol_wang", cursor)
    assert during == [] and cursor_during == cursor
    release.set()
    assert (await task)[0]["result"] == "created"
    after, _ = await pull_all(api, world, "vol_wang", cursor_during)
    assert [r["id"] for r in after] == [pending["id"]]
