"""`fieldlog serve` as `make run` uses it: a real process on a fresh data folder."""

from __future__ import annotations

import stat
import subprocess
import sys

import httpx

from tests.browser.conftest import LiveServer, run_async
from tests.conftest import create_pg_database, drop_pg_database


def serve_demo(server: LiveServer) -> str:
    """`make run`'s serve (demo mode) until it answers; returns what it printed on start."""
    env = {**server.env(server.code_dir), "FIELDLOG_DEMO": "true"}
    log = server.data_dir / "serve.log"
    with log.open("w") as out:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "serve"], env=env, stdout=out, stderr=out
        )
    server.wait_ready(30)
    return log.read_text()


def test_first_start_migrates_loads_the_demo_once_and_serves(tmp_path):
    server = LiveServer(tmp_path / "data")
    server.data_dir.mkdir()
    try:
        first = serve_demo(server)
        assert "Loaded the demo" in first and "vol-demo-2026" in first
        assert httpx.get(server.url + "/").status_code == 200
        login = httpx.post(
            server.url + "/api/v1/auth/login",
            json={"phone": "13900000011", "password": "vol-demo-2026"},
        )
        assert login.status_code == 200, login.text
        server.stop()
        second = serve_demo(server)
        assert "already loaded" in second and "vol-demo-2026" in second
    finally:
        server.stop()
    key = server.data_dir / "secret_key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and len(key.read_text()) >= 40


def test_serve_refuses_an_unmigrated_postgres_database_until_migrate(tmp_path):
    url = run_async(create_pg_database())
    try:
        server = LiveServer(tmp_path / "data", database_url=url)
        (tmp_path / "data").mkdir()
        refused = subprocess.run(
            [sys.executable, "-m", "server", "serve"],
            env=server.env(server.code_dir),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1
        assert "fieldlog migrate" in refused.stderr
        assert "Migrated PostgreSQL" in server.cli("migrate")
        server.start()
        try:
            assert httpx.get(server.url + "/schema/openapi.json").status_code == 200
        finally:
            server.stop()
    finally:
        run_async(drop_pg_database(url))
