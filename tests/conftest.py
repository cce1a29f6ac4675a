"""Shared fixtures: one database per test session (SQLite or PostgreSQL by FIELDLOG_TEST_DB),
emptied between tests, and an app + HTTP client built from explicit settings."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from server import db
from server.app import create_app
from server.settings import Settings
from tests.factories import World, build_world

TEST_DB = os.environ.get("FIELDLOG_TEST_DB", "sqlite")
ADMIN_URL = os.environ.get(
    "FIELDLOG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def pytest_report_header(config):
    return f"fieldlog database under test: {TEST_DB}"


async def create_pg_database() -> str:
    name = f"fieldlog_test_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(tmp_path_factory) -> str:
    if TEST_DB == "postgres":
        url = await create_pg_database()
        yield url
        await db.disconnect()
        await drop_pg_database(url)
    elif TEST_DB == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"
    else:
        raise pytest.UsageError(f"FIELDLOG_TEST_DB={TEST_DB!r}: use sqlite or postgres")


@pytest.fixture(scope="session")
async def base_settings(database_url, tmp_path_factory) -> Settings:
    data = Path(tmp_path_factory.mktemp("data"))
    settings = Settings(
        data_dir=data, database_url=database_url, secret_key="test-secret-" + "x" * 40
    )
    db.use_engine(db.engine_for(settings))
    await db.migrate(quiet=True)
    return settings


@pytest.fixture
async def settings(base_settings) -> Settings:
    await db.connect(base_settings)
    await empty_tables()
    return base_settings


async def empty_tables() -> None:
    from piccolo.table import Table

    from server.piccolo_app import TABLES
    from server.records.categories import seed_categories

    names = [t._meta.tablename for t in reversed(TABLES) if t._meta.tablename != "sync_counter"]
    if db.is_postgres():
        await TABLES[0].raw(f"TRUNCATE {', '.join(names)} RESTART IDENTITY CASCADE")
    else:
        for name in names:
            await TABLES[0].raw(f"DELETE FROM {name}")

    class Raw(Table, tablename="category"):
        pass

    await seed_categories(Raw)


@pytest.fixture
async def app(settings):
    return create_app(settings)


def http_client(app) -> httpx.AsyncClient:
    """An HTTP client for ``app`` in the test's own event loop (not AsyncTestClient's portal
    thread: the asyncpg pool is bound to the loop that made it). The ``settings`` fixture has
    already connected the database, so the app's lifespan is not run."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
async def client(app):
    async with http_client(app) as c:
        yield c


@pytest.fixture
async def world(settings) -> World:
    return await build_world()
