"""Units, teams, people and the phones they enrolled."""

from piccolo.columns import (
    BigInt,
    Boolean,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

ROLES = ("volunteer", "coordinator", "admin")
UNIT_KINDS = ("district", "township", "subdistrict", "village", "community")


class Unit(Table):
    """One node of the administrative tree: district → township/subdistrict → village/community."""

    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    name_en = Varchar(length=100, default="")
    kind = Varchar(length=16)
    parent = ForeignKey("self", null=True)
    # "/1/4/9/": lets a coordinator's subtree be one LIKE prefix query.
    path = Varchar(length=255, index=True)
    change_seq = BigInt(default=0)


class Team(Table):
    code = Varchar(length=32, unique=True)
    name = Varchar(length=100)
    unit = ForeignKey(Unit)
    default_place = Varchar(length=100, default="")
    # Category codes shown first on this team's phones, comma-separated.
    preferred_categories = Text(default="")
    active = Boolean(default=True)
    change_seq = BigInt(default=0)


class User(Table, tablename="fl_user"):
    name = Varchar(length=50)
    phone = Varchar(length=20, unique=True)
    role = Varchar(length=16, default="volunteer")
    password_hash = Varchar(length=255, null=True, default=None)
    # A coordinator sees the teams of this unit and every unit under it.
    scope_unit = ForeignKey(Unit, null=True)
    volunteer_no = Varchar(length=32, null=True, default=None, unique=True)
    active = Boolean(default=True)
    created_at = Timestamptz(default=TimestamptzNow())
    change_seq = BigInt(default=0)


class Membership(Table):
    user = ForeignKey(User, index=True)
    team = ForeignKey(Team, index=True)
    active = Boolean(default=True)
    change_seq = BigInt(default=0)


class Device(Table):
    """One enrolled phone. The bearer token itself is never stored, only its SHA-256."""

    user = ForeignKey(User, index=True)
    token_hash = Varchar(length=64, unique=True)
    label = Varchar(length=200, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    last_seen_at = Timestamptz(default=TimestamptzNow())
    revoked_at = Timestamptz(null=True, default=None)


class EnrolmentCode(Table):
    code_hash = Varchar(length=64, unique=True)
    user = ForeignKey(User)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
