"""The account commands of the ``fieldlog`` CLI, run as a user would, against the test database."""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from litestar.exceptions import NotAuthorizedException

from server import cli, db
from server.accounts import enrolment
from server.accounts.auth import principal_for_token, verify_password
from server.accounts.tables import Device, EnrolmentCode, Membership, User
from server.db import SQL, write_transaction


@pytest.fixture
def run(settings, monkeypatch, capsys):
    """Runs ``fieldlog …`` in a thread (it starts its own event loop and database connection),
    then reconnects the test's; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("FIELDLOG_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FIELDLOG_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("FIELDLOG_HOST", "10.0.0.5")
    monkeypatch.setenv("FIELDLOG_PORT", "8080")

    async def invoke(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        await db.disconnect()
        try:
            code = await asyncio.to_thread(cli.main, list(argv))
        finally:
            await db.connect(settings)
        out = capsys.readouterr()
        return code, out.out, out.err

    return invoke


async def current_seq() -> int:
    async with write_transaction() as conn:
        return await SQL(conn).fetchval("SELECT value FROM sync_counter WHERE id = 1")


async def test_user_add_volunteer_with_teams_bumps_the_change_number(run, world):
    before = await current_seq()
    code, out, err = await run(
        "user", "add", "--name", "孙丽", "--phone", "13700000021", "--role", "volunteer",
        "--team", "NC-TRUCK", "--team", "NC-ZHL-T", "--volunteer-no", "V410104009",
    )  # fmt: skip
    assert code == 0, err
    assert "孙丽" in out and "fieldlog enrol --phone 13700000021" in out
    user = await User.select().where(User.phone == "13700000021").first()
    assert user["role"] == "volunteer" and user["password_hash"] is None
    assert user["volunteer_no"] == "V410104009" and user["change_seq"] > before
    members = await Membership.select(Membership.team, Membership.change_seq).where(
        Membership.user == user["id"]
    )
    assert {m["team"] for m in members} == {world.team("NC-TRUCK"), world.team("NC-ZHL-T")}
    assert all(m["change_seq"] == user["change_seq"] for m in members)


async def test_user_add_coordinator_reads_password_from_stdin(run, world):
    code, _, err = await run(
        "user", "add", "--name", "刘站长", "--phone", "13700000022", "--role", "coordinator",
        "--unit", "NC-ZHL", "--password-stdin", stdin="station-pass-1\n",
    )  # fmt: skip
    assert code == 0, err
    user = await User.select().where(User.phone == "13700000022").first()
    assert await verify_password(user["password_hash"], "station-pass-1")
    assert user["scope_unit"] == world.ids.units["NC-ZHL"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--role", "coordinator", "--password-stdin"], "needs --unit"),
        (["--role", "volunteer", "--team", "NOPE"], "no team has the code 'NOPE'"),
        (["--role", "coordinator", "--unit", "NOPE", "--password-stdin"], "no unit has the code"),
        (["--role", "admin"], "--password-stdin"),
        (["--role", "volunteer", "--phone", "12345678901"], "not a mainland mobile number"),
        (["--role", "volunteer", "--phone", "13900000011"], "already belongs to someone"),
        (["--role", "volunteer", "--volunteer-no", "V410104001"], "already taken"),
        (["--role", "admin", "--password-stdin"], "at least 8 characters"),
    ],
)
async def test_user_add_refuses_bad_input_with_a_clear_message(run, world, argv, message):
    base = ["user", "add", "--name", "某人", "--phone", "13700000023"]
    code, out, err = await run(*base, *argv, stdin="short\n")
    assert code == 1
    assert message in err
    assert await User.count() == len(world.ids.users)


async def test_enrol_prints_a_code_and_link_that_enrol_a_phone(run, world):
    code, out, err = await run("enrol", "--phone", "13900000013")
    assert code == 0, err
    shown = re.search(r"code for 赵红梅 \(13900000013\): ([A-Z2-9]{4}-[A-Z2-9]{4})", out).group(1)
    assert f"http://10.0.0.5:8080/enrol?code={shown}" in out
    assert await EnrolmentCode.count() == 1
    token, _, user_id = await enrolment.redeem(shown, "test")
    assert user_id == world.user("vol_zhao")
    assert (await principal_for_token(token, 180)).name == "赵红梅"


async def test_enrol_uses_the_base_url_and_refuses_unknown_phones(run, world):
    code, out, _ = await run(
        "enrol", "--phone", "13900000013", "--base-url", "https://log.example.cn/"
    )
    assert code == 0 and "https://log.example.cn/enrol?code=" in out
    code, _, err = await run("enrol", "--phone", "13711112222")
    assert code == 1 and "nobody has the phone number 13711112222" in err


async def test_units_prints_the_tree_with_team_codes(run, world):
    code, out, _ = await run("units")
    assert code == 0
    lines = out.splitlines()
    gc = next(i for i, line in enumerate(lines) if line.startswith("GC "))
    nc = next(i for i, line in enumerate(lines) if line.strip().startswith("NC "))
    truck = next(i for i, line in enumerate(lines) if "team NC-TRUCK" in line)
    assert gc < nc < truck
    assert lines[nc].startswith("  NC ") and "南曹乡" in lines[nc]
    assert "team LH-ZJ-T" in out


async def test_devices_lists_and_revoke_signs_out(run, world):
    code, out, _ = await run("devices", "--phone", "13900000011")
    assert code == 0 and f"device {world.devices['vol_wang']}" in out
    code, out, _ = await run("revoke", "--device", str(world.devices["vol_wang"]))
    assert code == 0
    device = await Device.select(Device.revoked_at).where(Device.id == world.devices["vol_wang"])
    assert device[0]["revoked_at"] is not None
    with pytest.raises(NotAuthorizedException):
        await principal_for_token(world.tokens["vol_wang"], 180)
    code, _, err = await run("revoke", "--device", "999999")
    assert code == 1 and "no device has the id 999999" in err


def test_codes_printed_are_valid_input():
    assert enrolment.normalise(enrolment.display(enrolment.new_code()))


async def test_user_passwd_sets_a_password_from_stdin(run, world):
    code, out, err = await run(
        "user", "passwd", "--phone", "13800000002", "--password-stdin", stdin="new-pass-2026\n"
    )
    assert code == 0, err
    user = await User.select(User.password_hash).where(User.id == world.user("coord_nc")).first()
    assert await verify_password(user["password_hash"], "new-pass-2026")
