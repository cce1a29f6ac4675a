"""Account commands of the ``fieldlog`` CLI: user add, enrol, units, devices, revoke."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from server import db
from server.accounts import enrolment
from server.accounts.auth import hash_password
from server.accounts.tables import ROLES, Device, Membership, Team, Unit, User
from server.db import SQL, bump_seq, write_transaction
from server.settings import Settings

PHONE = re.compile(r"1[3-9]\d{9}")
MIN_PASSWORD = 8


class CommandError(Exception):
    """A mistake in the command's input: printed without a traceback, exit code 1."""


def add_parsers(sub: argparse._SubParsersAction) -> None:
    user = sub.add_parser("user", help="manage people")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="add a volunteer, coordinator or admin")
    add.add_argument("--name", required=True, help="full name (姓名)")
    add.add_argument("--phone", required=True, help="mainland mobile number, 11 digits")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--team", action="append", default=[], metavar="CODE", help="team code (repeatable)"
    )
    add.add_argument("--unit", metavar="CODE", help="scope unit code (required for coordinators)")
    add.add_argument("--volunteer-no", help="volunteer number (志愿者编号)")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read a password from stdin (required for coordinators and admins)",
    )

    passwd = user_sub.add_parser("passwd", help="set a person's password (read from stdin)")
    passwd.add_argument("--phone", required=True)
    passwd.add_argument("--password-stdin", action="store_true", required=True)

    enrol = sub.add_parser("enrol", help="print a one-time enrolment code for a person's phone")
    enrol.add_argument("--phone", required=True)
    enrol.add_argument(
        "--base-url", help="link prefix, e.g. https://fieldlog.example.cn (default: host/port)"
    )

    sub.add_parser("units", help="print the unit tree with its teams and their codes")

    devices = sub.add_parser("devices", help="list a person's signed-in phones")
    devices.add_argument("--phone", required=True)

    revoke = sub.add_parser("revoke", help="sign a device out (its token stops working)")
    revoke.add_argument("--device", required=True, type=int, metavar="ID")


def run(settings: Settings, args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[None]]] = {
        "user": user_command,
        "enrol": enrol,
        "units": units,
        "devices": devices,
        "revoke": revoke,
    }
    command = commands.get(args.command)
    if command is None:
        raise SystemExit(f"unknown command {args.command}")
    try:
        asyncio.run(_connected(settings, args, command))
    except CommandError as exc:
        print(f"fieldlog {args.command}: {exc}", file=sys.stderr)
        return 1
    except SystemExit as exc:  # e.g. an unmigrated PostgreSQL database
        print(exc, file=sys.stderr)
        return 1
    return 0


async def _connected(settings: Settings, args: argparse.Namespace, command) -> None:
    await db.connect(settings)
    try:
        await command(settings, args)
    finally:
        await db.disconnect()


def _phone(raw: str) -> str:
    phone = re.sub(r"[\s\-]", "", raw).removeprefix("+86")
    if not PHONE.fullmatch(phone):
        raise CommandError(f"{raw!r} is not a mainland mobile number (11 digits, 1[3-9]…)")
    return phone


async def _user_by_phone(raw: str) -> dict:
    phone = _phone(raw)
    user = await User.select().where(User.phone == phone).first()
    if user is None:
        raise CommandError(
            f"nobody has the phone number {phone}; add them with 'fieldlog user add'"
        )
    return user


def _read_password() -> str:
    if sys.stdin.isatty():
        password = getpass.getpass("Password (not shown): ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < MIN_PASSWORD:
        raise CommandError(f"the password on stdin must have at least {MIN_PASSWORD} characters")
    if len(password) > 128:
        raise CommandError("the password on stdin is longer than 128 characters")
    return password


async def user_command(settings: Settings, args: argparse.Namespace) -> None:
    if args.user_command == "passwd":
        await user_passwd(settings, args)
    else:
        await user_add(settings, args)


async def user_passwd(settings: Settings, args: argparse.Namespace) -> None:
    user = await _user_by_phone(args.phone)
    password_hash = await hash_password(_read_password())
    await User.update({User.password_hash: password_hash}).where(User.id == user["id"])
    print(f"Password set for {user['name']} ({user['phone']}).")


async def user_add(settings: Settings, args: argparse.Namespace) -> None:
    name = args.name.strip()
    if not name or len(name) > 50:
        raise CommandError("--name must be 1 to 50 characters")
    phone = _phone(args.phone)
    if args.role == "coordinator" and not args.unit:
        raise CommandError("a coordinator needs --unit CODE: the unit whose teams they cover")
    if args.role != "volunteer" and not args.password_stdin:
        raise CommandError(f"a {args.role} signs in to the console: give --password-stdin")

    unit_id = None
    if args.unit:
        unit = await Unit.select(Unit.id).where(Unit.code == args.unit).first()
        if unit is None:
            raise CommandError(f"no unit has the code {args.unit!r}; see 'fieldlog units'")
        unit_id = unit["id"]
    team_ids = []
    for code in dict.fromkeys(args.team):
        team = await Team.select(Team.id).where(Team.code == code).first()
        if team is None:
            raise CommandError(f"no team has the code {code!r}; see 'fieldlog units'")
        team_ids.append(team["id"])
    password_hash = await hash_password(_read_password()) if args.password_stdin else None

    async with write_transaction() as conn:
        if await User.exists().where(User.phone == phone):
            raise CommandError(f"the phone number {phone} already belongs to someone")
        if args.volunteer_no and await User.exists().where(User.volunteer_no == args.volunteer_no):
            raise CommandError(f"the volunteer number {args.volunteer_no} is already taken")
        # The change number makes phones pull the new person and memberships.
        seq = await bump_seq(SQL(conn))
        rows = await User.insert(
            User(
                name=name,
                phone=phone,
                role=args.role,
                password_hash=password_hash,
                scope_unit=unit_id,
                volunteer_no=args.volunteer_no or None,
                change_seq=seq,
            )
        ).run()
        user_id = rows[0]["id"]
        for team_id in team_ids:
            await Membership.insert(Membership(user=user_id, team=team_id, change_seq=seq)).run()
    teams = f", teams {', '.join(dict.fromkeys(args.team))}" if args.team else ""
    print(f"Added {args.role} {name} (id {user_id}, phone {phone}){teams}.")
    if args.role == "volunteer" and not password_hash:
        print(f"Enrol their phone with: fieldlog enrol --phone {phone}")


async def enrol(settings: Settings, args: argparse.Namespace) -> None:
    user = await _user_by_phone(args.phone)
    if not user["active"]:
        raise CommandError(f"{user['name']}'s account is disabled")
    code, expires = await enrolment.create(user["id"], settings.enrol_code_hours)
    base = (args.base_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    shown = enrolment.display(code)
    local = expires.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    print(f"Enrolment code for {user['name']} ({user['phone']}): {shown}")
    print(f"Link: {base}/enrol?code={shown}")
    print(f"Valid once, until {local} ({settings.timezone}).")


async def units(settings: Settings, args: argparse.Namespace) -> None:
    all_units = await Unit.select(
        Unit.id, Unit.code, Unit.name, Unit.name_en, Unit.kind, Unit.parent, Unit.path
    ).order_by(Unit.code)
    teams = await Team.select(Team.code, Team.name, Team.unit, Team.active).order_by(Team.code)
    if not all_units:
        print("No units yet (in demo mode: fieldlog demo).")
        return
    children: dict[int | None, list[dict]] = {}
    for unit in all_units:
        children.setdefault(unit["parent"], []).append(unit)
    teams_of: dict[int, list[dict]] = {}
    for team in teams:
        teams_of.setdefault(team["unit"], []).append(team)

    def show(unit: dict, depth: int) -> None:
        pad = "  " * depth
        english = f" {unit['name_en']}" if unit["name_en"] else ""
        print(f"{pad}{unit['code']:<10} {unit['name']}{english} [{unit['kind']}]")
        for team in teams_of.get(unit["id"], []):
            off = " (inactive)" if not team["active"] else ""
            print(f"{pad}  team {team['code']:<10} {team['name']}{off}")
        for child in children.get(unit["id"], []):
            show(child, depth + 1)

    known = {u["id"] for u in all_units}
    for unit in all_units:
        if unit["parent"] is None or unit["parent"] not in known:
            show(unit, 0)


async def devices(settings: Settings, args: argparse.Namespace) -> None:
    user = await _user_by_phone(args.phone)
    rows = (
        await Device.select()
        .where(Device.user == user["id"])
        .order_by(Device.created_at, ascending=False)
    )
    if not rows:
        print(f"{user['name']} has no signed-in devices.")
        return
    tz = settings.tz
    for d in rows:
        state = (
            f"revoked {d['revoked_at'].astimezone(tz):%Y-%m-%d %H:%M}"
            if d["revoked_at"]
            else f"last seen {d['last_seen_at'].astimezone(tz):%Y-%m-%d %H:%M}"
        )
        print(f"device {d['id']:<6} {state:<28} {d['label'][:60]}")


async def revoke(settings: Settings, args: argparse.Namespace) -> None:
    device = await Device.select(Device.id, Device.revoked_at).where(Device.id == args.device)
    if not device:
        raise CommandError(f"no device has the id {args.device}; see 'fieldlog devices'")
    if device[0]["revoked_at"] is not None:
        print(f"Device {args.device} was already signed out.")
        return
    await Device.update({Device.revoked_at: datetime.now(UTC)}).where(Device.id == args.device)
    print(f"Device {args.device} is signed out; its token no longer works.")
