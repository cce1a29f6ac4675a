"""The browser-test machinery: the real server as a subprocess (stoppable and restartable on the
same port and data), direct database access for checks and server-side changes, Debian's
Chromium through Playwright, and an ``App`` driver that uses only docs/pwa-contract.md.

Also imported by ``bench/pwa_load.py`` (``LiveServer``, ``launch_browser``, ``App``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("FIELDLOG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PASSWORD = "vol-demo-2026"
WANG = "13900000011"  # 王建国: teams NC-TRUCK and NC-ZHL-T
LI = "13900000012"  # 李秀英: team NC-TRUCK
TIMEOUT_MS = 15_000


def run_async(coro: Any) -> Any:
    """Run a coroutine to the end in a worker thread (Playwright's sync API owns this thread's
    event loop, so ``asyncio.run`` cannot be called here)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(
    check: Callable[[], Any],
    timeout: float = 15.0,
    what: str = "condition",
    pause: Callable[[], Any] = lambda: time.sleep(0.1),
) -> Any:
    """Poll ``check`` until it returns something truthy (bounded); returns that value.
    ``pause`` runs between polls (a Playwright wait lets route handlers run meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        pause()


# --- the database, read and changed directly -------------------------------------------------

SEQ = object()  # placeholder in ``Db.with_seq`` arguments: the change number just taken


class Db:
    """A few synchronous queries on the server's database (``?`` placeholders on both)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pg = url.startswith(("postgresql://", "postgres://"))

    @staticmethod
    def _pg_sql(sql: str) -> str:
        parts = sql.split("?")
        return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))

    def _sqlite(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
        conn.isolation_level = None
        conn.row_factory = sqlite3.Row
        return conn

    def now(self) -> Any:
        now = datetime.now(UTC)
        return now if self.pg else now.isoformat()

    def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        if self.pg:

            async def go() -> list[dict[str, Any]]:
                import asyncpg

                conn = await asyncpg.connect(self.url)
                try:
                    return [dict(r) for r in await conn.fetch(self._pg_sql(sql), *args)]
                finally:
                    await conn.close()

            return run_async(go())
        conn = self._sqlite()
        try:
            return [dict(r) for r in conn.execute(sql, args).fetchall()]
        finally:
            conn.close()

    def execute(self, sql: str, *args: Any) -> None:
        """One statement in its own transaction (no change number)."""
        self.fetch(sql, *args)

    def with_seq(self, sql: str, *args: Any) -> int:
        """In one transaction, take a change number from ``sync_counter`` as the server does
        (``server.db.bump_seq``) and run ``sql`` with ``SEQ`` in ``args`` replaced by it."""
        bump = "UPDATE sync_counter SET value = value + 1 WHERE id = 1 RETURNING value"
        if self.pg:

            async def go() -> int:
                import asyncpg

                conn = await asyncpg.connect(self.url)
                try:
                    async with conn.transaction():
                        seq = int(await conn.fetchval(bump))
                        values = [seq if a is SEQ else a for a in args]
                        await conn.execute(self._pg_sql(sql), *values)
                    return seq
                finally:
                    await conn.close()

            return run_async(go())
        conn = self._sqlite()
        try:
            conn.execute("BEGIN IMMEDIATE")
            seq = int(conn.execute(bump).fetchone()[0])
            conn.execute(sql, [seq if a is SEQ else a for a in args])
            conn.execute("COMMIT")
            return seq
        finally:
            conn.close()

    # shortcuts the tests share
    def user_id(self, phone: str) -> int:
        return self.fetch("SELECT id FROM fl_user WHERE phone = ?", phone)[0]["id"]

    def team_id(self, code: str) -> int:
        return self.fetch("SELECT id FROM team WHERE code = ?", code)[0]["id"]

    def record_ids(self, phone: str) -> set[str]:
        rows = self.fetch(
            "SELECT r.id FROM service_record r JOIN fl_user u ON u.id = r.author WHERE u.phone = ?",
            phone,
        )
        return {r["id"] for r in rows}

    def records(self, ids: list[str] | set[str]) -> dict[str, dict[str, Any]]:
        ids = list(ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.fetch(f"SELECT * FROM service_record WHERE id IN ({marks})", *ids)
        return {r["id"]: r for r in rows}


# --- the server process -----------------------------------------------------------------------


class LiveServer:
    """``python -m server serve`` in a subprocess on a fixed port, with its own data folder.

    ``stop()`` ends the process (the port then refuses connections, as when a phone loses the
    server, not just when the browser is told it is offline); ``start()`` brings it back on the
    same port and data, optionally running the code copied to ``code_dir`` (an app update).
    """

    def __init__(self, data_dir: Path, database_url: str = "", port: int | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or f"sqlite:///{self.data_dir / 'fieldlog.sqlite'}"
        self.db = Db(self.database_url)
        self.code_dir = ROOT
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "server.log"

    def env(self, code_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDLOG_")}
        env.update(
            FIELDLOG_DATA_DIR=str(self.data_dir),
            FIELDLOG_DATABASE_URL=self.database_url,
            FIELDLOG_HOST="127.0.0.1",
            FIELDLOG_PORT=str(self.port),
            # every test signs in from 127.0.0.1; the default 10 a minute would answer 429
            FIELDLOG_LOGIN_RATE_PER_MINUTE="100000",
            PYTHONPATH=str(code_dir),
            PYTHONUNBUFFERED="1",
        )
        return env

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "server", *args],
            cwd=self.code_dir,
            env=self.env(self.code_dir),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"server {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        """Migrate (the PostgreSQL release step; SQLite migrates itself too) and load the demo."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cli("migrate")
        self.cli("demo")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, code_dir: Path | None = None, timeout: float = 30.0) -> None:
        if self.running:
            raise RuntimeError("server already running")
        self.code_dir = code_dir or ROOT
        log = self.log_path.open("a")
        log.write(f"\n--- start ({self.code_dir}) ---\n")
        log.flush()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve"],
            cwd=self.code_dir,
            env=self.env(self.code_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"server exited on start:\n{self.log_tail()}")
            try:
                r = httpx.get(self.url + "/schema/openapi.json", timeout=2)
                if r.status_code < 500:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"server not ready in {timeout} s:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        # the port must refuse connections before a test relies on the server being gone
        wait_until(lambda: not _port_open(self.port), 10, "the server port to close")

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no server log)"

    def login(self, phone: str, password: str = PASSWORD) -> str:
        r = httpx.post(self.url + "/api/v1/auth/login", json={"phone": phone, "password": password})
        r.raise_for_status()
        return r.json()["token"]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def copy_code_with_change(dest: Path) -> Path:
    """Copy server/ and pwa/ to ``dest`` and change one app-shell file's content, so a server
    started from ``dest`` serves a new app version (content-derived) with the same data."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "server", dest / "server", ignore=ignore)
    shutil.copytree(ROOT / "pwa", dest / "pwa", ignore=ignore)
    shell = sorted(p for p in (dest / "pwa").rglob("*.css")) or sorted(
        p for p in (dest / "pwa").rglob("*.js") if p.name != "sw.js"
    )
    assert shell, "no CSS or JS file in pwa/ to change"
    with shell[0].open("a") as fh:
        fh.write("\n/* fieldlog browser test: a new version */\n")
    return dest


# --- Chromium -------------------------------------------------------------------------------


def require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Debian's Chromium is not at {CHROMIUM}: the browser tests need it "
            "(`make chromium`, or apt-get install chromium); they are not skipped.",
            pytrace=False,
        )


def launch_browser(pw: Any) -> Any:
    return pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def launch_profile(pw: Any, user_data_dir: Path, base_url: str, **kw: Any) -> Any:
    ctx = pw.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        base_url=base_url,
        locale="zh-CN",
        **kw,
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    return ctx


def tiny_png(width: int = 48, height: int = 32) -> bytes:
    """A small valid PNG with a gradient (no imaging library needed)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(((x * 5) % 256, (y * 8) % 256, 120))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


# --- the app, through the data-testid contract only -----------------------------------------


class App:
    def __init__(self, page: Any, server: LiveServer) -> None:
        from playwright.sync_api import expect

        self.page = page
        self.server = server
        self.expect = expect

    def tid(self, name: str) -> Any:
        return self.page.locator(f'[data-testid="{name}"]')

    def open(self, path: str = "/") -> App:
        self.page.goto(self.server.url + path)
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        self.expect(self.page.locator("body")).to_have_attribute("data-app-ready", "1")

    def view(self, route: str) -> None:
        """Go to a hash route (``#/records``) without loading anything from the network."""
        self.page.evaluate(
            "h => { if (location.hash === h) location.hash = '#/'; location.hash = h }", route
        )

    def sign_in(self, phone: str, password: str = PASSWORD, sync: bool = True) -> None:
        if not self.tid("login-phone").is_visible():
            self.view("#/login")
        self.tid("login-phone").fill(phone)
        self.tid("login-password").fill(password)
        self.tid("login-submit").click()
        self.expect(self.tid("log-button")).to_be_visible()
        if sync:
            self.sync()

    def sign_out(self) -> None:
        self.view("#/settings")
        self.tid("sign-out").click()

    def sync(self) -> None:
        """``window.fieldlog.syncNow()``: resolves when the sync run ends (bounded here)."""
        self.page.evaluate(
            """ms => Promise.race([
                window.fieldlog.syncNow(),
                new Promise((_, no) => setTimeout(() => no(new Error('syncNow hung')), ms)),
            ])""",
            TIMEOUT_MS,
        )

    def outbox_count(self) -> int:
        return self.page.evaluate("() => window.fieldlog.outboxCount()")

    def sw_activated(self) -> dict[str, Any]:
        """Wait (bounded) for an active service worker; returns its state, scope, control."""
        return self.page.evaluate(
            """ms => Promise.race([
                navigator.serviceWorker.ready.then(r => ({
                    state: r.active && r.active.state, scope: r.scope,
                    controlled: !!navigator.serviceWorker.controller })),
                new Promise(ok => setTimeout(() => ok({state: null}), ms)),
            ])""",
            TIMEOUT_MS,
        )

    def ensure_controlled(self) -> None:
        """The first visit may not be controlled until a reload (no clients.claim needed)."""
        sw = self.sw_activated()
        assert sw["state"] == "activated", f"no activated service worker: {sw}"
        if not sw["controlled"]:
            self.page.reload()
            self.wait_ready()
        assert self.page.evaluate("() => !!navigator.serviceWorker.controller")

    def log_service(
        self,
        note: str,
        *,
        category: str = "irrigation_check",
        duration: int = 60,
        photo: bytes | None = None,
        companions: tuple[int, ...] = (),
    ) -> None:
        self.view("#/log")
        tile = self.page.locator(f'[data-testid="category-tile"][data-code="{category}"]')
        tile.click()
        self.page.locator(f'[data-testid="duration-pick"][data-min="{duration}"]').click()
        self.tid("note-input").fill(note)
        for uid in companions:
            self.page.locator(f'[data-testid="companion-option"][data-user-id="{uid}"]').check()
        if photo is not None:
            self.tid("photo-input").set_input_files(
                files=[{"name": "photo.png", "mimeType": "image/png", "buffer": photo}]
            )
        self.tid("save-record").click()
        self.expect(self.tid("save-record")).to_be_hidden()

    def records_view(self) -> None:
        self.view("#/records")
        self.expect(self.tid("hours-total")).to_be_visible()

    def record_ids(self) -> list[str]:
        self.records_view()
        return self.page.locator('[data-testid="record-item"]').evaluate_all(
            "els => els.map(e => e.dataset.id)"
        )

    def item(self, record_id: str) -> Any:
        return self.page.locator(f'[data-testid="record-item"][data-id="{record_id}"]')

    def expect_state(self, record_id: str, state: str, timeout: int = TIMEOUT_MS) -> None:
        self.records_view()
        self.expect(self.item(record_id)).to_have_attribute("data-state", state, timeout=timeout)


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    from tests.conftest import TEST_DB, create_pg_database, drop_pg_database

    url = run_async(create_pg_database()) if TEST_DB == "postgres" else ""
    server = LiveServer(tmp_path_factory.mktemp("live"), url)
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        server.stop()
        if url:
            run_async(drop_pg_database(url))


@pytest.fixture
def server(live_server: LiveServer) -> Iterator[LiveServer]:
    """The session's live server, running the repository's code at the start and end of each
    test (a test may stop it, or start it from another code folder)."""
    if not live_server.running or live_server.code_dir != ROOT:
        live_server.stop()
        live_server.start()
    yield live_server
    if not live_server.running or live_server.code_dir != ROOT:
        live_server.stop()
        live_server.start()


@pytest.fixture(scope="package")
def playwright_driver() -> Iterator[Any]:
    """Package scope: while Playwright's sync API is alive it owns this thread's event loop,
    so it must be gone before the async tests of other packages run."""
    require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_driver) -> Iterator[Any]:
    b = launch_browser(playwright_driver)
    yield b
    b.close()


@pytest.fixture
def context(browser, server) -> Iterator[Any]:
    ctx = browser.new_context(base_url=server.url, locale="zh-CN")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def app(context, server) -> App:
    return App(context.new_page(), server)


@pytest.fixture
def profile(playwright_driver, server, tmp_path) -> Iterator[Callable[[], Any]]:
    """Open (and reopen, after close) a persistent Chromium profile in one folder."""
    opened: list[Any] = []

    def open_profile() -> Any:
        ctx = launch_profile(playwright_driver, tmp_path / "profile", server.url)
        opened.append(ctx)
        return ctx

    yield open_profile
    for ctx in opened:
        with contextlib.suppress(Exception):  # already closed by the test
            ctx.close()
