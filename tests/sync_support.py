"""Helpers for the sync, photo and records tests."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest

from tests.conftest import http_client


@pytest.fixture(name="api")
async def api_fixture(app):
    async with http_client(app) as c:
        yield c


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def batch(records: list[dict], activities: list[dict] | None = None, **over: Any) -> dict:
    body: dict[str, Any] = {"client_time": now_iso(), "records": records}
    if activities is not None:
        body["activities"] = activities
    body.update(over)
    return body


async def push(api: httpx.AsyncClient, world, who: str, body: dict, gz: bool = False):
    data = msgspec.json.encode(body)
    headers = {**world.auth(who), "content-type": "application/json"}
    if gz:
        data = gzip.compress(data)
        headers["content-encoding"] = "gzip"
    return await api.post("/api/v1/sync/push", content=data, headers=headers)


async def push_ok(api, world, who: str, records: list[dict], **kw) -> list[dict]:
    r = await push(api, world, who, batch(records, **kw))
    assert r.status_code == 200, r.text
    return r.json()["results"]


async def pull_all(api, world, who: str, cursor: str | None = None) -> tuple[list[dict], str]:
    """Pull until ``more`` is false; returns every record answered and the last cursor."""
    records: list[dict] = []
    while True:
        params = {"cursor": cursor} if cursor else {}
        r = await api.get("/api/v1/sync/pull", params=params, headers=world.auth(who))
        assert r.status_code == 200, r.text
        body = r.json()
        records.extend(body["records"])
        cursor = body["cursor"]
        if not body["more"]:
            return records, cursor
