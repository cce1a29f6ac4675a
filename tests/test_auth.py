"""Signing in with a password or an enrolment code, devices, and the console session."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest

from server.accounts import enrolment
from server.accounts.auth import hash_password
from server.accounts.tables import Device, EnrolmentCode, User
from server.app import create_app
from tests.conftest import http_client

LOGIN = "/api/v1/auth/login"
ENROL = "/api/v1/auth/enrol"
PASSWORD = "correct-horse-9"
UA = "Mozilla/5.0 (Linux; Android 12; Redmi Note 11)"
GENERIC_401 = {
    "status_code": 401,
    "detail": "手机号或密码不正确 / Wrong phone number or password",
    "extra": {"error": "bad_credentials"},
}

_hash: dict[str, str] = {}


async def set_password(user_id: int, password: str = PASSWORD) -> None:
    # One argon2 hash per test run keeps the suite fast.
    if password not in _hash:
        _hash[password] = await hash_password(password)
    await User.update({User.password_hash: _hash[password]}).where(User.id == user_id)


def phone_of(key: str) -> str:
    from server.demo import USERS

    return next(u[2] for u in USERS if u[0] == key)


# --- password login -----------------------------------------------------------------------


async def test_login_returns_token_device_and_profile(client, world):
    await set_password(world.user("vol_wang"))
    r = await client.post(
        LOGIN, json={"phone": "13900000011", "password": PASSWORD}, headers={"User-Agent": UA}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == {
        "id": world.user("vol_wang"),
        "name": "王建国",
        "role": "volunteer",
        "volunteer_no": "V410104001",
        "phone_masked": "139****0011",
        "teams": [
            {"id": world.team("NC-TRUCK"), "code": "NC-TRUCK", "name": "南曹乡党员流动服务车队"},
            {"id": world.team("NC-ZHL-T"), "code": "NC-ZHL-T", "name": "张华楼村党员志愿服务队"},
        ],
    }
    device = await Device.select().where(Device.id == body["device_id"]).first()
    assert device["user"] == world.user("vol_wang") and device["label"] == UA
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200 and me.json()["id"] == world.user("vol_wang")


@pytest.mark.parametrize("case", ["unknown_phone", "wrong_password", "inactive", "no_password"])
async def test_login_failures_share_one_generic_401(client, world, case):
    uid = world.user("vol_li")
    phone, password = phone_of("vol_li"), PASSWORD
    if case != "no_password":
        await set_password(uid)
    if case == "unknown_phone":
        phone = "13712345678"
    elif case == "wrong_password":
        password = "not-the-password"
    elif case == "inactive":
        await User.update({User.active: False}).where(User.id == uid)
    r = await client.post(LOGIN, json={"phone": phone, "password": password})
    assert r.status_code == 401
    assert r.json() == GENERIC_401
    assert await Device.count().where(Device.user == uid) == 1  # only the world's test device


async def test_login_accepts_phone_with_spaces_and_country_code(client, world):
    await set_password(world.user("vol_wang"))
    r = await client.post(LOGIN, json={"phone": "+86 139 0000 0011", "password": PASSWORD})
    assert r.status_code == 200


async def test_login_validation_errors_are_400_with_a_message(client, world):
    r = await client.post(LOGIN, json={"phone": "13900000011"})
    assert r.status_code == 400
    assert "password" in r.text
    r = await client.post(LOGIN, content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert "JSON" in r.json()["detail"]


async def test_login_and_enrol_share_a_per_address_rate_limit(settings, world):
    app = create_app(dataclasses.replace(settings, login_rate_per_minute=3))
    async with http_client(app) as client:
        bad = {"phone": "13712345678", "password": "x"}
        for _ in range(2):
            assert (await client.post(LOGIN, json=bad)).status_code == 401
        assert (await client.post(ENROL, json={"code": "AAAA-AAAA"})).status_code == 401
        r = await client.post(LOGIN, json=bad)
        assert r.status_code == 429
        assert r.json()["extra"] == {"error": "rate_limited"}
        assert (await client.post(ENROL, json={"code": "AAAA-AAAA"})).status_code == 429
        # Other endpoints are not limited.
        assert (await client.get("/api/v1/me", headers=world.auth("vol_wang"))).status_code == 200


# --- enrolment codes ----------------------------------------------------------------------


def test_codes_are_eight_unambiguous_characters():
    codes = {enrolment.new_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8 and not set(code) & set("0O1I")
    assert enrolment.display("ABCDEFGH") == "ABCD-EFGH"
    assert enrolment.normalise(" abcd-efgh ") == "ABCDEFGH"
    assert enrolment.normalise("ABCD-EFG0") is None


async def test_enrol_code_is_case_and_dash_insensitive_and_works_once(client, world):
    code, _ = await enrolment.create(world.user("vol_zhao"), hours=72)
    stored = await EnrolmentCode.select(EnrolmentCode.code_hash).first()
    assert code not in str(stored)  # only the hash is kept
    typed = f"{code[:4].lower()} {code[4:].lower()}"
    r = await client.post(ENROL, json={"code": typed}, headers={"User-Agent": UA})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["id"] == world.user("vol_zhao")
    assert [t["code"] for t in body["user"]["teams"]] == ["NC-ZHL-T"]
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.json()["name"] == "赵红梅"
    again = await client.post(ENROL, json={"code": enrolment.display(code)})
    assert again.status_code == 401 and again.json() == GENERIC_401


@pytest.mark.parametrize("case", ["expired", "wrong", "malformed", "inactive"])
async def test_enrol_refusals_share_one_generic_401(client, world, case):
    uid = world.user("vol_zhao")
    code, _ = await enrolment.create(uid, hours=72)
    if case == "expired":
        await EnrolmentCode.update(
            {EnrolmentCode.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
        ).where(EnrolmentCode.user == uid)
    elif case == "wrong":
        code = "".join("A" if c != "A" else "B" for c in code)
    elif case == "malformed":
        code = "0000-0000"
    elif case == "inactive":
        await User.update({User.active: False}).where(User.id == uid)
    r = await client.post(ENROL, json={"code": code})
    assert r.status_code == 401 and r.json() == GENERIC_401
    assert await Device.count().where(Device.user == uid) == 1


# --- me, devices, revoke, logout ----------------------------------------------------------


async def test_me_requires_a_token(client, world):
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["extra"]["error"] == "token_missing"


async def test_devices_lists_own_devices_marking_the_current_one(client, world):
    r = await client.get("/api/v1/devices", headers=world.auth("vol_wang"))
    assert r.status_code == 200
    [device] = r.json()
    assert device["id"] == world.devices["vol_wang"] and device["current"] is True
    assert device["revoked_at"] is None


@pytest.mark.parametrize(
    "viewer,owner,allowed",
    [
        ("vol_li", "vol_wang", False),
        ("coord_nc", "vol_wang", True),
        ("coord_lh", "vol_wang", False),
        ("coord_lh", "vol_chen", True),
        ("coord_nc", "admin", False),
        ("admin", "vol_chen", True),
    ],
)
async def test_devices_of_another_person_follow_scope(client, world, viewer, owner, allowed):
    r = await client.get(
        "/api/v1/devices", params={"user_id": world.user(owner)}, headers=world.auth(viewer)
    )
    if allowed:
        assert r.status_code == 200 and r.json()[0]["id"] == world.devices[owner]
    else:
        assert r.status_code == 403 and r.json()["extra"]["error"] == "forbidden_scope"


@pytest.mark.parametrize(
    "actor,allowed",
    [
        ("vol_wang", True),
        ("coord_nc", True),
        ("admin", True),
        ("coord_lh", False),
        ("vol_li", False),
    ],
)
async def test_revoke_follows_scope_and_kills_the_token(client, world, actor, allowed):
    target = world.devices["vol_wang"]
    r = await client.post(f"/api/v1/devices/{target}/revoke", headers=world.auth(actor))
    me = await client.get("/api/v1/me", headers=world.auth("vol_wang"))
    if allowed:
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        assert me.status_code == 401 and me.json()["extra"]["error"] == "token_revoked"
    else:
        assert r.status_code == 404
        assert me.status_code == 200


async def test_logout_revokes_this_device_only(client, world):
    await set_password(world.user("vol_wang"))
    other = (await client.post(LOGIN, json={"phone": "13900000011", "password": PASSWORD})).json()
    r = await client.post("/api/v1/auth/logout", headers=world.auth("vol_wang"))
    assert r.status_code == 204
    me = await client.get("/api/v1/me", headers=world.auth("vol_wang"))
    assert me.status_code == 401 and me.json()["extra"]["error"] == "token_revoked"
    still = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {other['token']}"})
    assert still.status_code == 200


# --- console session ----------------------------------------------------------------------


def csrf_field(html: str) -> str:
    match = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the form"
    return match.group(1)


async def console_sign_in(client, phone: str, password: str = PASSWORD):
    page = await client.get("/console/login")
    token = csrf_field(page.text)
    return await client.post(
        "/console/login",
        data={"phone": phone, "password": password, "_csrf_token": token},
        follow_redirects=False,
    )


async def test_console_login_page_has_a_csrf_field_and_no_inline_code(client, world):
    r = await client.get("/console/login")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert csrf_field(r.text)
    assert "手机号" in r.text and "Phone number" in r.text
    assert "<script" not in r.text and "<style" not in r.text and "style=" not in r.text


async def test_console_login_without_csrf_token_is_refused(client, world):
    await set_password(world.user("coord_nc"))
    await client.get("/console/login")  # has the CSRF cookie, but the form lacks the token
    r = await client.post(
        "/console/login",
        data={"phone": phone_of("coord_nc"), "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert (await client.get("/console/", follow_redirects=False)).status_code == 302


async def test_console_session_shows_name_role_and_signs_out(client, world):
    await set_password(world.user("coord_nc"))
    r = await console_sign_in(client, phone_of("coord_nc"))
    assert r.status_code == 303 and r.headers["location"] == "/console/"
    home = await client.get("/console/")
    assert home.status_code == 200
    assert "张队长" in home.text and "Coordinator" in home.text
    assert "demo-note" not in home.text
    # The session also works for the JSON API.
    assert (await client.get("/api/v1/me")).json()["id"] == world.user("coord_nc")
    out = await client.post(
        "/console/logout", data={"_csrf_token": csrf_field(home.text)}, follow_redirects=False
    )
    assert out.status_code == 303
    assert (await client.get("/console/", follow_redirects=False)).status_code == 302


async def test_console_without_session_redirects_to_login(client, world):
    r = await client.get("/console/", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"] == "/console/login"


async def test_console_refuses_volunteers(client, world):
    await set_password(world.user("vol_wang"))
    r = await console_sign_in(client, phone_of("vol_wang"))
    assert r.status_code == 403 and "志愿者" in r.text
    assert (await client.get("/console/", follow_redirects=False)).status_code == 302


async def test_console_session_of_a_demoted_user_is_forbidden(client, world):
    await set_password(world.user("coord_lh"))
    assert (await console_sign_in(client, phone_of("coord_lh"))).status_code == 303
    await User.update({User.role: "volunteer"}).where(User.id == world.user("coord_lh"))
    r = await client.get("/console/", follow_redirects=False)
    assert r.status_code == 403 and "白站长" not in r.headers.get("location", "")


async def test_console_wrong_password_shows_generic_error(client, world):
    await set_password(world.user("coord_nc"))
    r = await console_sign_in(client, phone_of("coord_nc"), "wrong-password")
    assert r.status_code == 401 and "手机号或密码不正确" in r.text
    assert (await client.get("/console/", follow_redirects=False)).status_code == 302


async def test_console_escapes_names_and_notes_demo_mode(settings, world):
    await set_password(world.user("admin"))
    await User.update({User.name: "<b>x</b>"}).where(User.id == world.user("admin"))
    app = create_app(dataclasses.replace(settings, demo=True))
    async with http_client(app) as client:
        assert (await console_sign_in(client, phone_of("admin"))).status_code == 303
        home = await client.get("/console/")
    assert "&lt;b&gt;x&lt;/b&gt;" in home.text and "<b>x</b>" not in home.text
    assert "demo-note" in home.text


async def test_api_revoke_with_session_needs_the_csrf_header(client, world):
    await set_password(world.user("coord_nc"))
    assert (await console_sign_in(client, phone_of("coord_nc"))).status_code == 303
    url = f"/api/v1/devices/{world.devices['vol_li']}/revoke"
    assert (await client.post(url)).status_code == 403
    token = client.cookies.get("fieldlog_csrf")
    r = await client.post(url, headers={"X-CSRFToken": token})
    assert r.status_code == 200 and r.json()["revoked_at"] is not None


async def test_console_login_is_rate_limited(settings, world):
    app = create_app(dataclasses.replace(settings, login_rate_per_minute=2))
    async with http_client(app) as client:
        for _ in range(2):
            r = await console_sign_in(client, "13712345678", "x")
            assert r.status_code == 401
        r = await console_sign_in(client, "13712345678", "x")
        assert r.status_code == 429 and "尝试次数太多" in r.text


async def test_api_logout_with_session_needs_the_csrf_header(client, world):
    await set_password(world.user("coord_nc"))
    assert (await console_sign_in(client, phone_of("coord_nc"))).status_code == 303
    r = await client.post("/api/v1/auth/logout")
    assert r.status_code == 403 and r.json()["extra"] == {"error": "csrf_failed"}
    assert (await client.get("/api/v1/me")).status_code == 200  # still signed in
    token = client.cookies.get("fieldlog_csrf")
    assert (await client.post("/api/v1/auth/logout", headers={"X-CSRFToken": token})).status_code
    assert (await client.get("/api/v1/me")).status_code == 401


# --- limits -------------------------------------------------------------------------------


async def test_password_checks_run_at_most_hash_concurrency_at_once(monkeypatch):
    from server.accounts import auth

    running = most = 0
    release = asyncio.Event()

    # Stands in for the thread pool: counts the argon2 runs in flight, and holds each until
    # every caller has had the chance to start one.
    async def in_thread(fn):
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1
        return fn()

    monkeypatch.setattr(auth, "sync_to_thread", in_thread)

    class Hasher:  # argon2's own is slotted; only the answer matters here
        def verify(self, stored, password):
            return password == "right"

    monkeypatch.setattr(auth, "_hasher", Hasher())
    stored = "$argon2id$stand-in"
    checks = [
        asyncio.create_task(auth.verify_password(stored, "right" if i % 2 else "wrong", limit=2))
        for i in range(8)
    ]
    for _ in range(20):  # every task runs until it waits for a slot or for `release`
        await asyncio.sleep(0)
    assert running == 2
    release.set()
    assert await asyncio.gather(*checks) == [bool(i % 2) for i in range(8)]
    assert most == 2


async def test_a_station_signs_in_many_phones_from_one_address(client, world):
    await set_password(world.user("vol_wang"))
    for _ in range(20):
        r = await client.post(LOGIN, json={"phone": "13900000011", "password": PASSWORD})
        assert r.status_code == 200


async def test_failed_logins_are_limited_per_phone_and_successes_do_not_count(settings, world):
    app = create_app(dataclasses.replace(settings, login_failures_per_phone=3))
    await set_password(world.user("vol_wang"))
    right = {"phone": "13900000011", "password": PASSWORD}
    wrong = {"phone": "13900000011", "password": "guess"}
    async with http_client(app) as client:
        for _ in range(4):
            assert (await client.post(LOGIN, json=right)).status_code == 200
        for _ in range(3):
            assert (await client.post(LOGIN, json=wrong)).status_code == 401
        # Locked: even the right password is refused, so a lucky guess is not revealed.
        r = await client.post(LOGIN, json={**right, "phone": "+86 139 0000 0011"})
        assert r.status_code == 429 and r.json()["extra"] == {"error": "rate_limited"}
        assert int(r.headers["retry-after"]) > 0
        console = await console_sign_in(client, "13900000011")
        assert console.status_code == 429 and "尝试次数太多" in console.text
        # Another phone on the same address is not affected.
        other = await client.post(LOGIN, json={"phone": phone_of("vol_li"), "password": "x"})
        assert other.status_code == 401
    # Kept in Litestar's rate_limit store (the chosen dependency), per phone number.
    assert await app.stores.get("rate_limit").get("login-failures:13900000011") == b"3"


async def test_sign_in_bodies_are_small(client, world):
    big = {"phone": "13900000011", "password": "x" * 5000}
    assert (await client.post(LOGIN, json=big)).status_code == 413
    assert (await client.post(ENROL, json={"code": "A" * 5000})).status_code == 413
    page = await client.get("/console/login")
    form = {"phone": "1" * 5000, "password": "x", "_csrf_token": csrf_field(page.text)}
    assert (await client.post("/console/login", data=form)).status_code == 413
    for body in (
        {"phone": "1" * 33, "password": "x"},
        {"phone": "13900000011", "password": "x" * 1025},
    ):
        r = await client.post(LOGIN, json=body)
        assert r.status_code == 400 and r.json()["extra"], r.text
    assert (await client.post(ENROL, json={"code": "A" * 33})).status_code == 400


@pytest.mark.parametrize("number", ["1e20", "100000000000000000000", "2147483648", "0", "-1"])
async def test_out_of_range_ids_are_refused_not_500(client, world, number):
    r = await client.get(f"/api/v1/devices?user_id={number}", headers=world.auth("admin"))
    assert r.status_code == 400, r.text
    r = await client.post(f"/api/v1/devices/{number}/revoke", headers=world.auth("admin"))
    assert r.status_code in (400, 404), r.text


# --- token expiry -------------------------------------------------------------------------


@pytest.mark.parametrize("days,works", [(179, True), (181, False)])
async def test_device_token_expires_180_days_after_its_last_use(client, world, days, works):
    device = world.devices["vol_wang"]
    await Device.update(
        {
            Device.created_at: datetime.now(UTC) - timedelta(days=400),
            Device.last_seen_at: datetime.now(UTC) - timedelta(days=days),
        }
    ).where(Device.id == device)
    r = await client.get("/api/v1/me", headers=world.auth("vol_wang"))
    seen = (await Device.select(Device.last_seen_at).where(Device.id == device).first())[
        "last_seen_at"
    ]
    if works:
        assert r.status_code == 200
        assert seen > datetime.now(UTC) - timedelta(minutes=5)  # the 180 days start again
    else:
        assert r.status_code == 401 and r.json()["extra"] == {"error": "token_expired"}
        assert seen < datetime.now(UTC) - timedelta(days=180)
