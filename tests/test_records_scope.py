"""The records API: each role sees only its scope, out-of-scope reads look like missing ones,
and only the author withdraws (by bearer token, or by session with the CSRF header)."""

from __future__ import annotations

import msgspec

from server.audit.tables import AuditEvent
from server.records.tables import ServiceRecord
from tests.factories import record
from tests.sync_support import api_fixture, pull_all, push_ok  # noqa: F401
from tests.test_auth import console_sign_in, phone_of, set_password


async def seed(api, world) -> dict[str, str]:
    """One record per volunteer: NC-TRUCK (wang, li), NC-ZHL-T (zhao), LH-ZJ-T (chen)."""
    ids = {}
    for who, team in (
        ("vol_wang", "NC-TRUCK"),
        ("vol_li", "NC-TRUCK"),
        ("vol_zhao", "NC-ZHL-T"),
        ("vol_chen", "LH-ZJ-T"),
    ):
        rec = record(world, author=who, team=team)
        await push_ok(api, world, who, [rec])
        ids[who] = rec["id"]
    return ids


async def listed(api, world, who: str, **params) -> list[str]:
    r = await api.get("/api/v1/records", params=params, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()["items"]]


async def test_each_role_lists_its_scope(api, world):
    ids = await seed(api, world)
    assert await listed(api, world, "vol_wang") == [ids["vol_wang"]]
    # Nanchao's coordinator: both Nanchao teams, not the Longhai community's.
    assert sorted(await listed(api, world, "coord_nc")) == sorted(
        [ids["vol_wang"], ids["vol_li"], ids["vol_zhao"]]
    )
    assert await listed(api, world, "coord_lh") == [ids["vol_chen"]]
    assert sorted(await listed(api, world, "admin")) == sorted(ids.values())


async def test_filters_and_paging(api, world):
    ids = await seed(api, world)
    team = world.team("NC-ZHL-T")
    assert await listed(api, world, "coord_nc", team_id=team) == [ids["vol_zhao"]]
    await ServiceRecord.update({ServiceRecord.status: "approved"}).where(
        ServiceRecord.id == ids["vol_li"]
    )
    assert await listed(api, world, "coord_nc", status="approved") == [ids["vol_li"]]
    r = await api.get(
        "/api/v1/records", params={"per_page": 2, "page": 2}, headers=world.auth("admin")
    )
    body = r.json()
    assert body["total"] == 4 and len(body["items"]) == 2 and body["page"] == 2


async def test_month_filter_uses_the_deployment_time_zone(api, world):
    # 23:50 on 31 May in Shanghai is 15:50 UTC: it belongs to May, not June.
    late = record(world, occurred_at="2026-05-31T23:50:00+08:00")
    june = record(world, occurred_at="2026-06-01T00:10:00+08:00")
    await push_ok(api, world, "vol_wang", [late, june])
    assert await listed(api, world, "vol_wang", month="2026-05") == [late["id"]]
    assert await listed(api, world, "vol_wang", month="2026-06") == [june["id"]]
    r = await api.get("/api/v1/records", params={"month": "2026-13"}, headers=world.auth("admin"))
    assert r.status_code == 400


async def test_reading_out_of_scope_is_404_like_a_missing_record(api, world):
    ids = await seed(api, world)
    own = await api.get(f"/api/v1/records/{ids['vol_wang']}", headers=world.auth("vol_wang"))
    assert own.status_code == 200 and own.json()["author_id"] == world.user("vol_wang")
    other = await api.get(f"/api/v1/records/{ids['vol_li']}", headers=world.auth("vol_wang"))
    missing = await api.get(
        "/api/v1/records/00000000-0000-0000-0000-000000000000", headers=world.auth("vol_wang")
    )
    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json()
    out = await api.get(f"/api/v1/records/{ids['vol_chen']}", headers=world.auth("coord_nc"))
    assert out.status_code == 404
    inside = await api.get(f"/api/v1/records/{ids['vol_zhao']}", headers=world.auth("coord_nc"))
    assert inside.status_code == 200


async def test_author_withdraws_with_token(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    _, cursor = await pull_all(api, world, "vol_wang")
    r = await api.post(f"/api/v1/records/{rec['id']}/withdraw", headers=world.auth("vol_wang"))
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "withdrawn" and r.json()["version"] == 2
    audit = await AuditEvent.select().where(AuditEvent.action == "record.withdraw")
    after = audit[0]["after"]
    after = msgspec.json.decode(after) if isinstance(after, str) else after
    assert audit[0]["record_id"] == rec["id"] and after["status"] == "withdrawn"
    # The phone learns it by pull, and re-sending it is refused.
    changed, _ = await pull_all(api, world, "vol_wang", cursor)
    assert [(x["id"], x["status"]) for x in changed] == [(rec["id"], "withdrawn")]
    res = await push_ok(api, world, "vol_wang", [rec])
    assert res[0]["result"] == "conflict" and res[0]["reason"] == "withdrawn"


async def test_withdraw_only_by_author_and_only_while_editable(api, world):
    rec = record(world)
    await push_ok(api, world, "vol_wang", [rec])
    url = f"/api/v1/records/{rec['id']}/withdraw"
    assert (await api.post(url, headers=world.auth("vol_li"))).status_code == 404
    r = await api.post(url, headers=world.auth("coord_nc"))
    assert r.status_code == 403 and r.json()["extra"]["error"] == "not_author"
    await ServiceRecord.update({ServiceRecord.status: "approved"}).where(
        ServiceRecord.id == rec["id"]
    )
    r = await api.post(url, headers=world.auth("vol_wang"))
    assert r.status_code == 409 and r.json()["extra"]["error"] == "not_editable"
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["status"] == "approved" and row["version"] == 1


async def test_session_lists_in_scope_and_posts_need_csrf(api, world):
    ids = await seed(api, world)
    await set_password(world.user("coord_lh"))
    assert (await console_sign_in(api, phone_of("coord_lh"))).status_code == 303
    r = await api.get("/api/v1/records")
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [ids["vol_chen"]]
    url = f"/api/v1/records/{ids['vol_chen']}/withdraw"
    r = await api.post(url)
    assert r.status_code == 403 and r.json()["extra"]["error"] == "csrf_failed"
    token = api.cookies.get("fieldlog_csrf")
    r = await api.post(url, headers={"X-CSRFToken": token})
    # Past the CSRF check; a coordinator is not the author.
    assert r.status_code == 403 and r.json()["extra"]["error"] == "not_author"


async def test_sync_endpoints_refuse_a_session(api, world):
    await set_password(world.user("coord_nc"))
    assert (await console_sign_in(api, phone_of("coord_nc"))).status_code == 303
    r = await api.get("/api/v1/sync/pull")
    assert r.status_code == 401 and r.json()["extra"]["error"] == "token_missing"
