"""Whole-request errors of /sync/push and /sync/pull, each a JSON body with a stable code, and
random input that must never make the server answer 500."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.accounts.tables import Device, User
from tests.factories import record
from tests.sync_support import api_fixture, batch, now_iso  # noqa: F401

PUSH = "/api/v1/sync/push"


def json_headers(world, who: str = "vol_wang", **extra: str) -> dict[str, str]:
    return {**world.auth(who), "content-type": "application/json", **extra}


def assert_error(r, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["status_code"] == status and body["extra"]["error"] == code
    assert isinstance(body["detail"], str) and body["detail"]


async def test_malformed_json(api, world):
    r = await api.post(PUSH, content=b'{"client_time": ', headers=json_headers(world))
    assert_error(r, 400, "malformed_json")


async def test_bad_envelope(api, world):
    for body in ({"records": []}, {"client_time": "2026-06-08T10:00:00", "records": []}, [1]):
        r = await api.post(PUSH, content=msgspec.json.encode(body), headers=json_headers(world))
        assert_error(r, 400, "bad_envelope")


async def test_bad_gzip(api, world):
    headers = json_headers(world, **{"content-encoding": "gzip"})
    r = await api.post(PUSH, content=b"not gzip at all", headers=headers)
    assert_error(r, 400, "bad_gzip")
    cut = gzip.compress(msgspec.json.encode(batch([record(world)])))[:-12]
    r = await api.post(PUSH, content=cut, headers=headers)
    assert_error(r, 400, "bad_gzip")


async def test_too_large_body(api, world, settings):
    big = b" " * (settings.push_max_bytes + 1)
    r = await api.post(PUSH, content=big, headers=json_headers(world))
    assert_error(r, 413, "too_large")


async def test_gzip_bomb_is_too_large(api, world, settings):
    # A few kB on the wire that inflate past the limit.
    bomb = gzip.compress(b'{"client_time": "' + b" " * (settings.push_max_bytes + 10))
    assert len(bomb) < settings.push_max_bytes
    headers = json_headers(world, **{"content-encoding": "gzip"})
    r = await api.post(PUSH, content=bomb, headers=headers)
    assert_error(r, 413, "too_large")


async def test_too_many_records(api, world):
    body = {"client_time": now_iso(), "records": [{}] * 501}
    r = await api.post(PUSH, content=msgspec.json.encode(body), headers=json_headers(world))
    assert_error(r, 413, "too_many_records")


async def test_wrong_content_type(api, world):
    headers = {**world.auth("vol_wang"), "content-type": "text/plain"}
    r = await api.post(PUSH, content=msgspec.json.encode(batch([])), headers=headers)
    assert_error(r, 415, "unsupported_media_type")


async def test_missing_token(api, world):
    r = await api.post(PUSH, content=msgspec.json.encode(batch([])))
    assert_error(r, 401, "token_missing")
    r = await api.get("/api/v1/sync/pull")
    assert_error(r, 401, "token_missing")


async def test_unknown_token(api, world):
    headers = {"authorization": "Bearer nope", "content-type": "application/json"}
    r = await api.post(PUSH, content=msgspec.json.encode(batch([])), headers=headers)
    assert_error(r, 401, "token_unknown")


async def test_expired_token(api, world):
    await Device.update({Device.last_seen_at: datetime.now(UTC) - timedelta(days=200)}).where(
        Device.id == world.devices["vol_wang"]
    )
    rec = record(world)
    r = await api.post(PUSH, content=msgspec.json.encode(batch([rec])), headers=json_headers(world))
    assert_error(r, 401, "token_expired")
    r = await api.get("/api/v1/sync/pull", headers=world.auth("vol_wang"))
    assert_error(r, 401, "token_expired")


async def test_revoked_token(api, world):
    await Device.update({Device.revoked_at: datetime.now(UTC)}).where(
        Device.id == world.devices["vol_wang"]
    )
    r = await api.post(PUSH, content=msgspec.json.encode(batch([])), headers=json_headers(world))
    assert_error(r, 401, "token_revoked")


async def test_inactive_user(api, world):
    await User.update({User.active: False}).where(User.id == world.user("vol_wang"))
    r = await api.post(PUSH, content=msgspec.json.encode(batch([])), headers=json_headers(world))
    assert_error(r, 401, "user_inactive")


async def test_bad_cursor(api, world):
    for cursor in ("garbage", "v2.1.0", "v1.x.0", "v1.1.'; drop table"):
        r = await api.get(
            "/api/v1/sync/pull", params={"cursor": cursor}, headers=world.auth("vol_wang")
        )
        assert_error(r, 400, "bad_cursor")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
record_keys = st.sampled_from(
    ["id", "team_id", "category", "occurred_at", "duration_min", "place", "beneficiaries",
     "description", "source", "companions", "photos", "lat", "lng", "quantity", "base_version",
     "activity_id", "place_unit_id", "created_at", "accuracy_m"]
)  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    raw=st.binary(max_size=200),
    envelope=json_values,
    mutations=st.dictionaries(record_keys, json_values, max_size=4),
    gz=st.booleans(),
)
async def test_random_input_never_500(api, world, raw, envelope, mutations, gz):
    valid = batch([record(world) | mutations])
    headers = json_headers(world)
    for body in (raw, msgspec.json.encode(envelope), msgspec.json.encode(valid)):
        sent_headers = headers
        if gz:
            body = gzip.compress(body)
            sent_headers = {**headers, "content-encoding": "gzip"}
        r = await api.post(PUSH, content=body, headers=sent_headers)
        assert r.status_code in (200, 400, 413), r.text
        assert r.headers["content-type"].startswith("application/json")
        if r.status_code == 200:
            results = r.json()["results"]
            assert all(x["result"] in ("created", "invalid", "duplicate") for x in results)
