"""Choosing the database engine, migrating it, and the few raw-SQL helpers the hot paths share."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.settings import Settings

os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")


def engine_for(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": url})
    if not url.startswith("sqlite:///"):
        raise SystemExit(
            f"FIELDLOG_DATABASE_URL={url!r}: use sqlite:///path or postgresql://user@host/db"
        )
    path = url.removeprefix("sqlite:///")
    if path != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # timeout: writers queue on SQLite's lock instead of failing with "database is locked".
    return SQLiteEngine(path=path, timeout=60)


_connected: dict[str, Engine] = {}


async def connect(settings: Settings) -> Engine:
    """Bind the tables to the settings' database (reusing an open engine), refusing to serve an
    unmigrated PostgreSQL database and migrating SQLite on the spot."""
    url = settings.resolved_database_url
    engine = _connected.get(url)
    if engine is None:
        engine = engine_for(settings)
        use_engine(engine)
        if isinstance(engine, PostgresEngine):
            await engine.start_connection_pool(min_size=1, max_size=settings.db_pool_size)
            if pending := await pending_migrations():
                await engine.close_connection_pool()
                raise SystemExit(
                    f"The database has {len(pending)} migration(s) not applied; "
                    "run 'fieldlog migrate' first (the release step), then start the server."
                )
        else:
            await migrate(quiet=True)
        _connected[url] = engine
    use_engine(engine)
    return engine


async def disconnect() -> None:
    from server.connections import close_connections

    await close_connections()
    for engine in _connected.values():
        if isinstance(engine, PostgresEngine):
            await engine.close_connection_pool()
    _connected.clear()


def use_engine(engine: Engine) -> None:
    """Point every table, and Piccolo's own migration table, at ``engine``."""
    from piccolo.apps.migrations.tables import Migration

    from server import piccolo_conf
    from server.piccolo_app import TABLES

    piccolo_conf.DB = engine
    for table in [*TABLES, Migration]:
        table._meta.db = engine


def current_engine() -> Engine:
    from server import piccolo_conf

    return piccolo_conf.DB


def is_postgres(engine: Engine | None = None) -> bool:
    return isinstance(engine or current_engine(), PostgresEngine)


def describe(settings: Settings) -> str:
    url = urlparse(settings.resolved_database_url)
    if settings.is_postgres:
        return f"PostgreSQL {url.hostname}:{url.port or 5432}{url.path}"
    return f"SQLite {settings.resolved_database_url.removeprefix('sqlite:///')}"


async def migrate(quiet: bool = False) -> None:
    from piccolo.apps.migrations.commands.forwards import run_forwards

    out = io.StringIO() if quiet else sys.stdout
    with contextlib.redirect_stdout(out):
        result = await run_forwards(app_name="fieldlog")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
    if not is_postgres():
        # WAL lets phones pull while a batch is being written; the mode sticks to the file.
        await current_engine()._run_in_new_connection("PRAGMA journal_mode=WAL")


async def pending_migrations() -> list[str]:
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.apps.migrations.tables import Migration

    manager = BaseMigrationManager()
    app = manager.get_app_config("fieldlog")
    ids = manager.get_migration_ids(manager.get_migration_modules(app.migrations_folder_path))
    if not await Migration.table_exists().run():
        return list(ids)
    ran = set(await Migration.get_migrations_which_ran(app_name="fieldlog"))
    return [i for i in ids if i not in ran]


@contextlib.asynccontextmanager
async def write_transaction() -> AsyncIterator[Any]:
    """A transaction for writes; yields the driver connection (aiosqlite or asyncpg)."""
    engine = current_engine()
    if isinstance(engine, SQLiteEngine):
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        async with engine.transaction(transaction_type=TransactionType.immediate) as tx:
            yield tx.connection
    else:
        async with engine.transaction() as tx:
            yield tx.connection


class SQL:
    """Runs one statement on a driver connection, hiding the two drivers' differences."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.pg = not hasattr(conn, "row_factory")

    def q(self, sql: str) -> str:
        """Rewrite ``?`` placeholders as ``$1, $2, …`` for asyncpg."""
        if not self.pg:
            return sql
        parts = sql.split("?")
        return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self.pg:
            return [dict(r) for r in await self.conn.fetch(self.q(sql), *args)]
        async with self.conn.execute(sql, args) as cur:
            return list(await cur.fetchall())

    async def fetchval(self, sql: str, *args: Any) -> Any:
        rows = await self.fetch(sql, *args)
        return next(iter(rows[0].values())) if rows else None

    async def execute(self, sql: str, *args: Any) -> None:
        if self.pg:
            await self.conn.execute(self.q(sql), *args)
        else:
            await self.conn.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        if self.pg:
            await self.conn.executemany(self.q(sql), rows)
        else:
            await self.conn.executemany(sql, rows)

    def in_list(self, n: int) -> str:
        return ",".join("?" * n)


async def bump_seq(db: SQL) -> int:
    """Take the next change number; holds the counter's row lock until the caller commits."""
    return int(
        await db.fetchval("UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value")
    )
