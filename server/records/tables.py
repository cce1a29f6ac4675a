"""Service categories, activities (outings) and the service records themselves."""

from piccolo.columns import (
    BigInt,
    Boolean,
    Date,
    DoublePrecision,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from server.accounts.tables import Device, Team, Unit, User

STATUSES = ("submitted", "approved", "returned", "rejected", "withdrawn", "duplicate")
EDITABLE = ("submitted", "returned")
SOURCES = ("live", "backfill", "coordinator")


class Category(Table):
    code = Varchar(length=32, unique=True)
    name = Varchar(length=50)
    name_en = Varchar(length=80, default="")
    quantity_unit = Varchar(length=16, default="")
    quantity_unit_en = Varchar(length=24, default="")
    active = Boolean(default=True)
    sort_order = Integer(default=0)
    change_seq = BigInt(default=0)


class Activity(Table):
    """An outing or event; its id is made on the phone that started it."""

    id = Varchar(length=36, primary_key=True)
    team = ForeignKey(Team, index=True)
    title = Varchar(length=100)
    date = Date()
    place = Varchar(length=100, default="")
    leader = ForeignKey(User)
    started_at = Timestamptz(null=True, default=None)
    ended_at = Timestamptz(null=True, default=None)
    content_hash = Varchar(length=64, default="")
    created_at = Timestamptz(default=TimestamptzNow())
    change_seq = BigInt(default=0, index=True)


class ServiceRecord(Table):
    # Made on the phone (a UUID), so a retry can never create a second row.
    id = Varchar(length=36, primary_key=True)
    author = ForeignKey(User, index=True)
    team = ForeignKey(Team, index=True)
    category = ForeignKey(Category)
    activity = ForeignKey(Activity, null=True, default=None)
    occurred_at = Timestamptz(index=True)
    duration_min = Integer()
    place = Varchar(length=100)
    place_unit = ForeignKey(Unit, null=True, default=None)
    beneficiaries = Integer()
    description = Text()
    quantity = DoublePrecision(null=True, default=None)
    lat = DoublePrecision(null=True, default=None)
    lng = DoublePrecision(null=True, default=None)
    accuracy_m = DoublePrecision(null=True, default=None)
    photo_consent = Boolean(default=False)
    photos = Text(default="")  # comma-separated sha256 in order; rows in RecordPhoto
    missing_media = Boolean(default=False)
    credited = Integer(default=1)  # author + companions, for hours
    source = Varchar(length=16, default="live")
    status = Varchar(length=16, default="submitted", index=True)
    review_note = Text(default="")
    reviewed_by = ForeignKey(User, null=True, default=None)
    reviewed_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)
    content_hash = Varchar(length=64)
    device = ForeignKey(Device, null=True, default=None)
    client_created_at = Timestamptz(null=True, default=None)
    client_sent_at = Timestamptz(null=True, default=None)
    received_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())
    clock_skew_s = Integer(null=True, default=None)
    clock_skewed = Boolean(default=False)
    deleted_at = Timestamptz(null=True, default=None)
    change_seq = BigInt(default=0, index=True)


class RecordCompanion(Table):
    record = ForeignKey(ServiceRecord, index=True)
    user = ForeignKey(User, index=True)


class RecordPhoto(Table):
    record = ForeignKey(ServiceRecord, index=True)
    sha256 = Varchar(length=64, index=True)
    position = Integer(default=0)
