"""Edge input that once made the server answer 500, and clock and cursor edge cases: each is
refused with a field error or a whole-request code, or stored as docs/sync.md says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar.exceptions import HTTPException

from server.records.tables import ServiceRecord
from server.sync.routes import decode_envelope
from server.sync.tables import SyncCounter
from tests.factories import record
from tests.sync_support import api_fixture, batch, now_iso, pull_all, push, push_ok  # noqa: F401

PUSH = "/api/v1/sync/push"
INT_MAX = 2**31 - 1


async def rows(record_id: str) -> list[dict]:
    return await ServiceRecord.select().where(ServiceRecord.id == record_id)


def codes(result: dict) -> dict[str, str]:
    return {e["field"]: e["code"] for e in result["errors"]}


async def push_raw(api, world, body: bytes, who: str = "vol_wang"):
    headers = {**world.auth(who), "content-type": "application/json"}
    return await api.post(PUSH, content=body, headers=headers)


# --- dates and times out of any sensible range -------------------------------------------


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-08:00", "1899-12-31T23:00:00Z"]
)
async def test_extreme_service_time_is_a_field_error(api, world, when):
    good = record(world)
    res = await push_ok(api, world, "vol_wang", [record(world, occurred_at=when), good])
    assert res[0]["result"] == "invalid" and codes(res[0]) == {"occurred_at": "range"}
    assert res[1]["result"] == "created"


async def test_extreme_created_at_is_a_field_error(api, world):
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [
            record(world, created_at="0001-01-01T00:00:00+08:00"),
            record(world, created_at="9999-12-31T23:59:59-08:00"),
        ],
    )
    assert [codes(r) for r in res] == [{"created_at": "range"}] * 2


@pytest.mark.parametrize(
    "client_time", ["0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59Z", "1899-06-01T00:00:00Z"]
)
async def test_extreme_client_time_is_bad_envelope_even_with_no_records(api, world, client_time):
    for records in ([], [record(world)]):
        r = await push(api, world, "vol_wang", batch(records, client_time=client_time))
        assert r.status_code == 400, r.text
        assert r.json()["extra"]["error"] == "bad_envelope"


async def test_extreme_activity_dates_are_field_errors(api, world):
    base = {"team_id": world.team("NC-TRUCK"), "title": "麦收", "date": "2026-06-08"}
    acts = [
        base | {"id": record(world)["id"], "date": "0001-01-01"},
        base | {"id": record(world)["id"], "started_at": "0001-01-01T00:00:00+08:00"},
        base | {"id": record(world)["id"], "ended_at": "9999-12-31T23:59:59-08:00"},
    ]
    r = await push(api, world, "vol_wang", batch([], activities=acts))
    assert r.status_code == 200, r.text
    out = r.json()["activities"]
    assert [codes(a) for a in out] == [
        {"date": "range"},
        {"started_at": "range"},
        {"ended_at": "range"},
    ]


async def test_phone_clock_in_2100_is_flagged_and_its_skew_fits_the_column(api, world):
    phone_now = datetime(2100, 6, 1, tzinfo=UTC)
    rec = record(world, occurred_at=(phone_now - timedelta(hours=1)).isoformat())
    r = await push(api, world, "vol_wang", batch([rec], client_time=phone_now.isoformat()))
    assert r.status_code == 200, r.text
    body = r.json()
    # The answer says the real skew; the integer column keeps the largest value it can hold.
    assert body["clock_skewed"] is True and body["clock_skew_s"] > INT_MAX
    assert body["results"][0]["result"] == "created"
    row = (await rows(rec["id"]))[0]
    assert row["clock_skewed"] is True and row["clock_skew_s"] == INT_MAX


async def test_phone_clock_reset_to_1970_is_judged_by_its_own_clock(api, world):
    phone_now = datetime(1970, 1, 1, 8, 0, tzinfo=UTC)
    hour_ago = record(world, occurred_at=(phone_now - timedelta(hours=1)).isoformat())
    # Thirty years before the phone's "now" is before 2000 even after the correction.
    too_old = record(world, occurred_at=(phone_now - timedelta(days=30 * 365)).isoformat())
    ahead = record(world, occurred_at=(phone_now + timedelta(hours=2)).isoformat())
    r = await push(
        api, world, "vol_wang", batch([hour_ago, too_old, ahead], client_time=phone_now.isoformat())
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["clock_skewed"] is True and body["clock_skew_s"] < -50 * 365 * 86400
    res = body["results"]
    assert res[0]["result"] == "created"
    assert codes(res[1]) == {"occurred_at": "too_early"}
    assert codes(res[2]) == {"occurred_at": "future"}
    row = (await rows(hour_ago["id"]))[0]
    # Stored as the phone sent it, and flagged for the coordinator to check.
    assert row["occurred_at"] == phone_now - timedelta(hours=1)
    assert row["clock_skewed"] is True and row["clock_skew_s"] == body["clock_skew_s"]


# --- strings: NUL and other control characters ---------------------------------------


async def test_control_characters_are_format_errors(api, world):
    res = await push_ok(
        api,
        world,
        "vol_wang",
        [
            record(world, place="张华楼\x00村"),
            record(world, description="巡查\x00"),
            record(world, place="东地\x1b[31m"),
            record(world, place="东地\n西地"),
            record(world, description="田间巡查\n劝阻焚烧秸秆\r\n\t宣传"),
        ],
    )
    assert [r["result"] for r in res] == ["invalid"] * 4 + ["created"]
    assert codes(res[0]) == {"place": "format"}
    assert codes(res[1]) == {"description": "format"}
    assert codes(res[2]) == {"place": "format"}
    assert codes(res[3]) == {"place": "format"}
    assert (await rows(res[4]["id"]))[0]["description"] == "田间巡查\n劝阻焚烧秸秆\r\n\t宣传"


async def test_nul_in_an_activity_is_a_format_error(api, world):
    act = {
        "id": record(world)["id"],
        "team_id": world.team("NC-TRUCK"),
        "title": "麦收\x00",
        "date": "2026-06-08",
        "place": "\x00",
    }
    r = await push(api, world, "vol_wang", batch([], activities=[act]))
    assert r.status_code == 200, r.text
    assert codes(r.json()["activities"][0]) == {"title": "format", "place": "format"}


async def test_nul_in_unknown_category_is_only_unknown(api, world):
    res = await push_ok(api, world, "vol_wang", [record(world, category="straw\x00")])
    assert codes(res[0]) == {"category": "unknown"}


@pytest.mark.parametrize("bad", ["%00", "abc", "00000000-0000-0000-0000-00000000000%00"])
async def test_record_paths_that_are_not_uuids_are_404(api, world, bad):
    r = await api.get(f"/api/v1/records/{bad}", headers=world.auth("vol_wang"))
    assert r.status_code == 404 and r.json()["extra"]["error"] == "not_found"
    r = await api.post(f"/api/v1/records/{bad}/withdraw", headers=world.auth("vol_wang"))
    assert r.status_code == 404 and r.json()["extra"]["error"] == "not_found"


# --- bytes that are not UTF-8, and nesting -------------------------------------------


async def test_invalid_utf8_inside_one_record_spoils_only_that_record(api, world):
    good = record(world)
    items = [
        b'{"id":"\xff"}',
        msgspec.json.encode(good),
        b'{"id":"' + good["id"][:-1].encode() + b'9","team_id":"x","place":"\xfe"}',
    ]
    body = b'{"client_time":"' + now_iso().encode() + b'","records":[' + b",".join(items) + b"]}"
    r = await push_raw(api, world, body)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["result"] for x in res] == ["invalid", "created", "invalid"]
    assert res[0]["id"] is None and codes(res[0]) == {"$": "malformed"}
    assert codes(res[2]) == {"$": "malformed"}


async def test_invalid_utf8_in_an_activity(api, world):
    body = (
        b'{"client_time":"'
        + now_iso().encode()
        + b'","records":[],"activities":[{"id":"\xff","title":"x"}]}'
    )
    r = await push_raw(api, world, body)
    assert r.status_code == 200, r.text
    assert r.json()["activities"][0]["result"] == "invalid"


def test_deep_nesting_is_malformed_json_where_the_envelope_is_read():
    # Read where it belongs, not left to the app's last-resort handler.
    body = b'{"client_time":"2026-06-08T10:00:00Z","records":[' + b"[" * 100_000
    with pytest.raises(HTTPException) as caught:
        decode_envelope(body)
    assert caught.value.status_code == 400 and caught.value.extra == {"error": "malformed_json"}


async def test_deep_nesting_over_http(api, world):
    for tail in (b"[" * 100_000, b"{" * 50_000, b"[" * 50_000 + b"]" * 50_000 + b"]}"):
        body = b'{"client_time":"' + now_iso().encode() + b'","records":[' + tail
        r = await push_raw(api, world, body)
        assert r.status_code == 400 and r.json()["extra"]["error"] == "malformed_json", r.text


# --- the records API's query parameters ----------------------------------------------


@pytest.mark.parametrize("month", ["0000-01", "0001-01", "9999-12", "1999-12", "2101-01"])
async def test_month_out_of_range_is_bad_month(api, world, month):
    r = await api.get("/api/v1/records", params={"month": month}, headers=world.auth("admin"))
    assert r.status_code == 400 and r.json()["extra"]["error"] == "bad_month", r.text


@pytest.mark.parametrize(
    "params",
    [
        {"team_id": "99999999999999999999"},
        {"team_id": "2147483648"},
        {"page": "99999999999999999999"},
        {"per_page": "-1"},
        {"status": "\x00"},
    ],
)
async def test_out_of_range_query_params_are_400(api, world, params):
    r = await api.get("/api/v1/records", params=params, headers=world.auth("admin"))
    assert r.status_code == 400, r.text


async def test_largest_team_id_is_just_no_rows(api, world):
    r = await api.get("/api/v1/records", params={"team_id": INT_MAX}, headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["total"] == 0


# --- pull cursors --------------------------------------------------------------------


async def test_cursor_ahead_of_the_counter_is_bad_cursor(api, world):
    await push_ok(api, world, "vol_wang", [record(world)])
    _, cursor = await pull_all(api, world, "vol_wang")
    high = (await SyncCounter.select(SyncCounter.value))[0]["value"]
    for ahead in (
        "v1.999999999999999999.0",
        f"v1.{high + 1}.0",
        f"v1.{high + 1}.00000000-0000-0000-0000-000000000000",
    ):
        r = await api.get(
            "/api/v1/sync/pull", params={"cursor": ahead}, headers=world.auth("vol_wang")
        )
        assert r.status_code == 400 and r.json()["extra"]["error"] == "bad_cursor", ahead
    # The cursor the server gave is still good.
    r = await api.get(
        "/api/v1/sync/pull", params={"cursor": cursor}, headers=world.auth("vol_wang")
    )
    assert r.status_code == 200
