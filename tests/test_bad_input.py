"""Whole-request errors of /sync/push and /sync/pull, each a JSON body with a stable code, and
random input that must never make the server answer 500."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import quote

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


# --- the cases that once slipped past the fuzzing above ------------------------------

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
# Anything from year 1 to 9999, in any offset, as RFC 3339; the edges (where converting to UTC
# overflows) drawn often, since random draws seldom land on them.
any_time = st.sampled_from(
    [
        "0001-01-01T00:00:00+23:59",
        "0001-01-01T00:00:00+08:00",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T23:59:59Z",
        "1899-12-31T23:59:59+08:00",
        "1900-01-01T00:00:00+08:00",
        "1970-01-01T00:00:00Z",
        "2100-12-31T23:59:59-12:00",
        "2101-01-01T00:00:00+14:00",
    ]
) | st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz).isoformat(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    offsets,
)
# Text with NUL and other control characters mixed in.
nasty_text = st.text(
    alphabet=st.characters(max_codepoint=0x2FF, exclude_categories=["Cs"]), min_size=1, max_size=30
) | st.sampled_from(["\x00", "a\x00b", "\x1b[0m", "\x7f", "\u0085", "\n", "\r\n"])
string_fields = st.sampled_from(["place", "description", "category", "id", "source"])


def _activity(world) -> dict:
    return {
        "id": record(world)["id"],
        "team_id": world.team("NC-TRUCK"),
        "title": "麦收",
        "date": "2026-06-08",
    }


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    client_time=any_time | st.just(""),
    occurred=any_time,
    created=any_time,
    act_time=any_time,
    act_date=st.dates(),
    field=string_fields,
    text=nasty_text,
    act_text=nasty_text,
)
async def test_extreme_times_and_control_characters_never_500(
    api, world, client_time, occurred, created, act_time, act_date, field, text, act_text
):
    rec = record(world, occurred_at=occurred, created_at=created) | {field: text}
    act = _activity(world) | {
        "date": act_date.isoformat(),
        "started_at": act_time,
        "title": act_text,
    }
    for body in (
        batch([rec], activities=[act], client_time=client_time or now_iso()),
        batch([], client_time=client_time or now_iso()),
        batch([record(world)], client_time=client_time or now_iso()),
        batch([record(world, created_at=created), record(world, place=text, description=text)]),
        batch([], activities=[_activity(world) | {"ended_at": act_time, "place": act_text}]),
    ):
        r = await api.post(PUSH, content=msgspec.json.encode(body), headers=json_headers(world))
        assert r.status_code in (200, 400), r.text
        if r.status_code == 400:
            assert r.json()["extra"]["error"] == "bad_envelope"


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    junk=st.binary(min_size=1, max_size=8),
    where=st.sampled_from(["place", "description", "id", "category", "occurred_at"]),
    valid_utf8=st.booleans(),
)
async def test_invalid_utf8_inside_an_item_never_500(api, world, junk, where, valid_utf8):
    good = record(world)
    bad = msgspec.json.encode(record(world) | {where: "@@"})
    # Raw bytes in place of one string: often not UTF-8, but still JSON's shape (no quote,
    # backslash or raw control byte, which make the whole body malformed instead).
    junk = bytes(b for b in junk if b >= 0x20 and b not in b'"\\') or b"\xff"
    if not valid_utf8:
        junk += b"\xff"
    bad = bad.replace(b'"@@"', b'"' + junk + b'"', 1)
    items = [msgspec.json.encode(good), bad]
    body = b'{"client_time":"' + now_iso().encode() + b'","records":[' + b",".join(items) + b"]}"
    r = await api.post(PUSH, content=body, headers=json_headers(world))
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert res[0]["result"] == "created" and res[1]["result"] in ("created", "invalid")


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    depth=st.integers(min_value=1, max_value=150_000),
    opener=st.sampled_from([b"[", b'{"a":', b"[{"]),
    closed=st.booleans(),
    inside=st.sampled_from(["records", "activities", "client_time"]),
)
async def test_deep_nesting_never_500(api, world, depth, opener, closed, inside):
    closer = {b"[": b"]", b'{"a":': b"}", b"[{": b"}]"}[opener]
    nested = opener * depth + (b"1" + closer * depth if closed else b"")
    body = b'{"client_time":"' + now_iso().encode() + b'","records":[],"' + inside.encode()
    body += b'":[' + nested + b"]}"
    r = await api.post(PUSH, content=body, headers=json_headers(world))
    assert r.status_code in (200, 400, 413), r.text
    if r.status_code == 400:
        assert r.json()["extra"]["error"] in ("malformed_json", "bad_envelope")


query_values = (
    st.text(max_size=24)
    | st.integers(min_value=-(10**30), max_value=10**30).map(str)
    | st.sampled_from(["0000-01", "0001-01", "9999-12", "2026-06", "\x00", "2026-6", "submitted"])
)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    params=st.dictionaries(
        st.sampled_from(["team_id", "status", "month", "page", "per_page"]),
        query_values,
        max_size=5,
    ),
    record_id=st.text(max_size=40) | st.just("\x00"),
    who=st.sampled_from(["vol_wang", "coord_nc", "admin"]),
)
async def test_records_api_params_never_500(api, world, params, record_id, who):
    headers = world.auth(who)
    r = await api.get("/api/v1/records", params=params, headers=headers)
    assert r.status_code in (200, 400), r.text
    assert r.headers["content-type"].startswith("application/json")
    path = quote(record_id, safe="")
    for r in (
        await api.get(f"/api/v1/records/{path}", headers=headers),
        await api.post(f"/api/v1/records/{path}/withdraw", headers=headers),
    ):
        # 404 for any id that is not a record; "", "." and ".." lead to the list itself.
        assert r.status_code in (404, 405) or (
            r.status_code == 200 and record_id in ("", ".", "..")
        ), r.text


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    cursor=query_values | st.integers(min_value=0, max_value=10**18 - 1).map(lambda n: f"v1.{n}.0")
)
async def test_pull_cursor_never_500(api, world, cursor):
    r = await api.get(
        "/api/v1/sync/pull", params={"cursor": cursor}, headers=world.auth("vol_wang")
    )
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["extra"]["error"] == "bad_cursor"
