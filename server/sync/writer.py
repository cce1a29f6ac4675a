"""The connections the sync paths use: one write transaction per batch, and reads.

On PostgreSQL this is ``db.write_transaction()`` and the pool. On SQLite the process keeps one
long-lived write connection and one read connection instead of Piccolo's connection per
transaction: opening a connection costs a thread and a file open, and closing the last one of
a WAL database checkpoints the whole log, which took as long as the batch's inserts.
Writers queue on an asyncio lock first, so the next batch gets the database the moment the last
commits instead of when SQLite's busy handler next polls; other processes (a second worker, the
CLI) still queue on SQLite's own lock with the engine's busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine

from server.db import SQL, current_engine, write_transaction


class _SqliteConns:
    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.conns: dict[tuple[str, str], aiosqlite.Connection] = {}

    async def get(self, engine: SQLiteEngine, role: str) -> aiosqlite.Connection:
        key = (engine.path, role)
        conn = self.conns.get(key)
        if conn is None:
            conn = aiosqlite.connect(**engine.connection_kwargs)
            # Never keep the interpreter alive at exit for an idle connection's thread.
            conn._thread.daemon = True  # noqa: SLF001
            await conn
            conn.row_factory = _dict_factory
            await conn.execute("PRAGMA foreign_keys = 1")
            self.conns[key] = conn
        return conn


def _dict_factory(cursor: Any, row: tuple) -> dict[str, Any]:
    return {col[0]: row[i] for i, col in enumerate(cursor.description)}


_per_loop: weakref.WeakKeyDictionary[Any, _SqliteConns] = weakref.WeakKeyDictionary()


def _sqlite() -> _SqliteConns:
    loop = asyncio.get_running_loop()
    conns = _per_loop.get(loop)
    if conns is None:
        conns = _per_loop[loop] = _SqliteConns()
    return conns


@contextlib.asynccontextmanager
async def writing() -> AsyncIterator[SQL]:
    """One write transaction as an ``SQL``; committed on exit, rolled back on error."""
    engine = current_engine()
    if not isinstance(engine, SQLiteEngine):
        async with write_transaction() as conn:
            yield SQL(conn)
        return
    state = _sqlite()
    async with state.lock:
        conn = await state.get(engine, "write")
        # IMMEDIATE takes the write lock up front, as db.write_transaction() does.
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield SQL(conn)
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")


@contextlib.asynccontextmanager
async def reading() -> AsyncIterator[SQL]:
    """A connection for reads in autocommit mode: each statement sees the latest commit."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        yield SQL(await _sqlite().get(engine, "read"))
        return
    async with engine.pool.acquire() as conn:
        yield SQL(conn)


async def close_connections() -> None:
    """Close this loop's SQLite connections (call on shutdown, e.g. from ``db.disconnect``)."""
    conns = _per_loop.pop(asyncio.get_running_loop(), None)
    if conns:
        for conn in conns.conns.values():
            await conn.close()
