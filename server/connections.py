"""Database connections for the hot paths: one write transaction per batch, and reads.

``run_write(fn)`` runs ``await fn(db)`` inside one write transaction and commits it.

* PostgreSQL: an asyncpg transaction on a pool connection, in the event loop. Not Piccolo's
  transaction: when its COMMIT fails (a deferred constraint, a serialisation failure) it
  neither returns the connection to the pool nor resets its context, so a few such failures
  would exhaust the pool; asyncpg's own ``acquire`` / ``transaction`` always clean up.
* SQLite: the whole transaction runs in one dedicated writer thread on a long-lived connection.
  ``fn`` only awaits this module's ``SQL`` methods, which there complete at once, so the
  coroutine is driven to its end without the event loop. Why: run from the loop, every
  statement of a batch waited for the loop to come back to it (it is busy decoding other
  batches) while the batch held SQLite's only write lock; in the thread, the lock is held for
  the database work alone. One thread also queues this process's writers without SQLite's
  busy handler sleeping and polling (other processes still queue on the engine's busy timeout),
  and a long-lived connection avoids Piccolo's connection per transaction, whose close
  checkpoints the whole WAL when it is the last one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine

from server.db import SQL, current_engine

T = TypeVar("T")


def _dict_factory(cursor: Any, row: tuple) -> dict[str, Any]:
    return {col[0]: row[i] for i, col in enumerate(cursor.description)}


class SyncSQL(SQL):
    """``SQL`` over a plain sqlite3 connection: the async methods never suspend."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.pg = False

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return self.conn.execute(sql, args).fetchall()

    async def execute(self, sql: str, *args: Any) -> None:
        self.conn.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.conn.executemany(sql, rows)


def _drive(coro: Awaitable[T]) -> T:
    """Run a coroutine that never suspends to its end, without an event loop."""
    try:
        coro.send(None)  # type: ignore[attr-defined]
    except StopIteration as done:
        return done.value
    coro.close()  # type: ignore[attr-defined]
    raise RuntimeError("a write run in the SQLite writer thread awaited something else")


class _SqliteWriter:
    """One thread and one connection per database file."""

    def __init__(self, engine: SQLiteEngine) -> None:
        self.kwargs = dict(engine.connection_kwargs)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="fieldlog-sqlite-writer"
        )
        self.conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self.conn is None:
            # Piccolo's settings: its type converters (detect_types), autocommit, busy timeout.
            self.conn = sqlite3.connect(**self.kwargs)
            self.conn.row_factory = _dict_factory
            self.conn.execute("PRAGMA foreign_keys = 1")
        return self.conn

    def _transaction(self, fn: Callable[[SQL], Awaitable[T]]) -> T:
        conn = self._connection()
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = _drive(fn(SyncSQL(conn)))
            # Inside the try: a COMMIT can fail (a deferred foreign key, a full disk, an I/O
            # error) and leave the transaction open, and this connection serves every later write.
            conn.execute("COMMIT")
        except BaseException:
            self._abort(conn)
            raise
        return result

    def _abort(self, conn: sqlite3.Connection) -> None:
        """End a failed transaction. SQLite has sometimes rolled it back already (then ROLLBACK
        itself would fail and hide the real error); a connection that cannot roll back is
        dropped, and the next write opens a fresh one."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            self.conn = None
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    async def run(self, fn: Callable[[SQL], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._transaction, fn)

    def close(self) -> None:
        def close_conn() -> None:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

        self.executor.submit(close_conn).result()
        self.executor.shutdown()


_writers: dict[str, _SqliteWriter] = {}
_writers_lock = threading.Lock()


async def run_write(fn: Callable[[SQL], Awaitable[T]]) -> T:
    """``await fn(db)`` in one write transaction, committed when it returns.

    On SQLite ``fn`` must await only ``db``'s methods (and plain coroutines built on them).
    """
    engine = current_engine()
    if not isinstance(engine, SQLiteEngine):
        async with engine.pool.acquire() as conn, conn.transaction():
            return await fn(SQL(conn))
    with _writers_lock:
        writer = _writers.get(engine.path)
        if writer is None:
            writer = _writers[engine.path] = _SqliteWriter(engine)
    return await writer.run(fn)


class _Readers:
    def __init__(self) -> None:
        self.conns: dict[str, aiosqlite.Connection] = {}

    async def get(self, engine: SQLiteEngine) -> aiosqlite.Connection:
        conn = self.conns.get(engine.path)
        if conn is None:
            conn = aiosqlite.connect(**engine.connection_kwargs)
            # Never keep the interpreter alive at exit for an idle connection's thread.
            conn._thread.daemon = True  # noqa: SLF001
            await conn
            conn.row_factory = _dict_factory
            self.conns[engine.path] = conn
        return conn


_readers: weakref.WeakKeyDictionary[Any, _Readers] = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def reading() -> AsyncIterator[SQL]:
    """A connection for reads in autocommit mode: each statement sees the latest commit."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        loop = asyncio.get_running_loop()
        readers = _readers.get(loop)
        if readers is None:
            readers = _readers[loop] = _Readers()
        yield SQL(await readers.get(engine))
        return
    async with engine.pool.acquire() as conn:
        yield SQL(conn)


async def close_connections() -> None:
    """Close the SQLite connections this module keeps (call on shutdown, from db.disconnect)."""
    readers = _readers.pop(asyncio.get_running_loop(), None)
    if readers:
        for conn in readers.conns.values():
            await conn.close()
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        await asyncio.get_running_loop().run_in_executor(None, writer.close)
