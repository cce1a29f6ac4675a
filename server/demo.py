"""Demo data: the seed document's units and teams, and a few accounts with known passwords.

Loaded by ``fieldlog demo`` and by ``serve`` in demo mode on first start; the test suite builds
its world from the same tables (without hashing passwords).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.accounts.auth import hash_password
from server.accounts.tables import Membership, Team, Unit, User
from server.db import SQL, bump_seq, write_transaction

# (code, name, English name, kind, parent code)
UNITS = [
    ("GC", "管城回族区", "Guancheng District", "district", None),
    ("NC", "南曹乡", "Nanchao Township", "township", "GC"),
    ("NC-ZHL", "张华楼村", "Zhanghualou Village", "village", "NC"),
    ("NC-XZ", "新郑庄村", "Xinzhengzhuang Village", "village", "NC"),
    ("LH", "陇海马路街道", "Longhai Road Subdistrict", "subdistrict", "GC"),
    ("LH-ZJ", "紫荆社区", "Zijing Community", "community", "LH"),
    ("BX", "北下街街道", "Beixiajie Subdistrict", "subdistrict", "GC"),
]

# (code, name, unit code, default place, preferred categories)
TEAMS = [
    (
        "NC-TRUCK",
        "南曹乡党员流动服务车队",
        "NC",
        "南曹乡",
        "policy_publicity,straw_burning,harvester_contact,traffic_direction,straw_hauling,"
        "irrigation_check,water_delivery",
    ),
    ("NC-ZHL-T", "张华楼村党员志愿服务队", "NC-ZHL", "张华楼村", "straw_burning,water_delivery"),
    (
        "LH-ZJ-T",
        "紫荆社区党员志愿服务队",
        "LH-ZJ",
        "紫荆社区",
        "policy_consultation,health,warmth_visit,family_education",
    ),
]

# (key, name, phone, role, scope unit, volunteer number, teams, demo password)
USERS = [
    ("admin", "管理员", "13800000001", "admin", "GC", None, [], "admin-demo-2026"),
    ("coord_nc", "张队长", "13800000002", "coordinator", "NC", None, [], "coord-demo-2026"),
    ("coord_lh", "白站长", "13800000003", "coordinator", "LH", None, [], "coord-demo-2026"),
    (
        "vol_wang",
        "王建国",
        "13900000011",
        "volunteer",
        None,
        "V410104001",
        ["NC-TRUCK", "NC-ZHL-T"],
        "vol-demo-2026",
    ),
    (
        "vol_li",
        "李秀英",
        "13900000012",
        "volunteer",
        None,
        "V410104002",
        ["NC-TRUCK"],
        "vol-demo-2026",
    ),
    (
        "vol_zhao",
        "赵红梅",
        "13900000013",
        "volunteer",
        None,
        "V410104003",
        ["NC-ZHL-T"],
        "vol-demo-2026",
    ),
    (
        "vol_chen",
        "陈志强",
        "13900000014",
        "volunteer",
        None,
        "V410104004",
        ["LH-ZJ-T"],
        "vol-demo-2026",
    ),
]


@dataclass
class DemoIds:
    units: dict[str, int] = field(default_factory=dict)
    teams: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)


async def demo_loaded() -> bool:
    return await Unit.exists().where(Unit.code == "GC")


async def load_demo(with_passwords: bool = True) -> DemoIds:
    """Insert the demo world; ``with_passwords=False`` skips hashing (tests issue tokens)."""
    hashes = {}
    if with_passwords:
        for pw in {u[7] for u in USERS}:
            hashes[pw] = await hash_password(pw)
    ids = DemoIds()
    async with write_transaction() as conn:
        seq = await bump_seq(SQL(conn))
        for code, name, name_en, kind, parent in UNITS:
            parent_id = ids.units.get(parent) if parent else None
            row = (
                await Unit.insert(
                    Unit(
                        code=code,
                        name=name,
                        name_en=name_en,
                        kind=kind,
                        parent=parent_id,
                        path="",
                        change_seq=seq,
                    )
                ).run()
            )[0]
            ids.units[code] = row["id"]
            parent_path = (
                (await Unit.select(Unit.path).where(Unit.id == parent_id).first())["path"]
                if parent_id
                else "/"
            )
            await Unit.update({Unit.path: f"{parent_path}{row['id']}/"}).where(Unit.id == row["id"])
        for code, name, unit, place, cats in TEAMS:
            row = (
                await Team.insert(
                    Team(
                        code=code,
                        name=name,
                        unit=ids.units[unit],
                        default_place=place,
                        preferred_categories=cats,
                        change_seq=seq,
                    )
                ).run()
            )[0]
            ids.teams[code] = row["id"]
        for key, name, phone, role, scope, number, teams, pw in USERS:
            row = (
                await User.insert(
                    User(
                        name=name,
                        phone=phone,
                        role=role,
                        password_hash=hashes.get(pw),
                        scope_unit=ids.units[scope] if scope else None,
                        volunteer_no=number,
                        change_seq=seq,
                    )
                ).run()
            )[0]
            ids.users[key] = row["id"]
            for team in teams:
                await Membership.insert(
                    Membership(user=row["id"], team=ids.teams[team], change_seq=seq)
                ).run()
    return ids


def demo_accounts_text() -> str:
    lines = ["Demo accounts (demo mode only):"]
    for _, name, phone, role, _, _, _, pw in USERS:
        lines.append(f"  {role:<12} {name}  phone {phone}  password {pw}")
    return "\n".join(lines)
