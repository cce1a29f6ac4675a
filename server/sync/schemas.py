"""The wire shapes of the sync protocol (docs/sync.md), as msgspec Structs.

Constraints live in ``msgspec.Meta`` so a record is checked in C while it is decoded; the rules
that need the database (membership, categories, activities) are in ``validate.py``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

UUID_PATTERN = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
SHA256_PATTERN = "^[0-9a-f]{64}$"

Uuid = Annotated[str, Meta(pattern=UUID_PATTERN, description="lower-case UUID made on the phone")]
Sha256 = Annotated[str, Meta(pattern=SHA256_PATTERN, description="SHA-256 hex of the photo")]
PositiveId = Annotated[int, Meta(ge=1, le=2_147_483_647)]  # fits an SQL integer


class RecordIn(msgspec.Struct, forbid_unknown_fields=False):
    """A service record as a phone pushes it."""

    id: Uuid
    team_id: PositiveId
    category: Annotated[str, Meta(min_length=1, max_length=32)]
    occurred_at: Annotated[datetime, Meta(tz=True, description="RFC 3339 with offset")]
    duration_min: Annotated[int, Meta(ge=1, le=1440)]
    place: Annotated[str, Meta(min_length=1, max_length=100)]
    beneficiaries: Annotated[int, Meta(ge=0, le=10000)]
    description: Annotated[str, Meta(min_length=1, max_length=500)]
    source: Literal["live", "backfill"]
    base_version: PositiveId | None = None
    activity_id: Uuid | None = None
    place_unit_id: PositiveId | None = None
    companions: Annotated[list[PositiveId], Meta(max_length=50)] = []
    photos: Annotated[list[Sha256], Meta(max_length=9)] = []
    photo_consent: bool = False
    quantity: Annotated[float, Meta(ge=0, le=1_000_000)] | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lng: Annotated[float, Meta(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[float, Meta(ge=0, le=100_000)] | None = None
    created_at: Annotated[datetime, Meta(tz=True)] | None = None


class ActivityIn(msgspec.Struct):
    """An outing; only the phone of its leader may change it."""

    id: Uuid
    team_id: PositiveId
    title: Annotated[str, Meta(min_length=1, max_length=100)]
    date: date
    place: Annotated[str, Meta(max_length=100)] = ""
    started_at: Annotated[datetime, Meta(tz=True)] | None = None
    ended_at: Annotated[datetime, Meta(tz=True)] | None = None


class PushEnvelope(msgspec.Struct):
    """What the handler decodes first; items stay raw so each is judged on its own."""

    client_time: Annotated[datetime, Meta(tz=True)]
    records: list[msgspec.Raw]
    activities: list[msgspec.Raw] = []


class PushRequest(msgspec.Struct):
    """The documented request body of ``POST /sync/push`` (for OpenAPI)."""

    client_time: Annotated[datetime, Meta(tz=True)]
    records: Annotated[list[RecordIn], Meta(max_length=500)]
    activities: Annotated[list[ActivityIn], Meta(max_length=500)] = []


class FieldError(msgspec.Struct):
    field: str
    code: str
    message: str


class ServerRecord(msgspec.Struct):
    """A record as the server holds it: in pull, in a conflict, and in the records API."""

    id: str
    team_id: int
    category: str
    activity_id: str | None
    occurred_at: datetime
    duration_min: int
    place: str
    place_unit_id: int | None
    beneficiaries: int
    description: str
    companions: list[int]
    photos: list[str]
    photo_consent: bool
    quantity: float | None
    lat: float | None
    lng: float | None
    accuracy_m: float | None
    source: str
    created_at: datetime | None
    status: str
    review_note: str
    version: int
    missing_media: bool
    clock_skewed: bool
    received_at: datetime
    updated_at: datetime
    deleted: bool
    author_id: int


class RecordResult(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | None
    result: Literal["created", "updated", "duplicate", "conflict", "invalid", "forbidden"]
    version: int | None = None
    status: str | None = None
    missing_photos: list[str] | None = None
    reason: Literal["exists", "stale", "not_editable", "withdrawn", "deleted"] | None = None
    server: ServerRecord | None = None
    errors: list[FieldError] | None = None
    message: str | None = None


class ActivityResult(msgspec.Struct, omit_defaults=True):
    index: int
    id: str | None
    result: Literal["created", "updated", "duplicate", "invalid", "forbidden"]
    errors: list[FieldError] | None = None
    message: str | None = None


class PushResponse(msgspec.Struct):
    server_time: datetime
    clock_skew_s: int
    clock_skewed: bool
    activities: list[ActivityResult]
    results: list[RecordResult]


class Me(msgspec.Struct):
    id: int
    name: str
    role: str
    volunteer_no: str | None
    phone_masked: str


class CategoryOut(msgspec.Struct):
    id: int
    code: str
    name: str
    name_en: str
    quantity_unit: str
    quantity_unit_en: str
    active: bool
    sort_order: int


class MemberOut(msgspec.Struct):
    id: int
    name: str
    volunteer_no: str | None


class PullTeam(msgspec.Struct):
    id: int
    code: str
    name: str
    unit_id: int
    default_place: str
    preferred_categories: list[str]
    members: list[MemberOut]


class ActivityOut(msgspec.Struct):
    id: str
    team_id: int
    title: str
    date: date
    place: str
    started_at: datetime | None
    ended_at: datetime | None
    leader_id: int


class PullResponse(msgspec.Struct):
    cursor: str
    more: bool
    server_time: datetime
    me: Me
    records: list[ServerRecord]
    categories: list[CategoryOut] | None
    teams: list[PullTeam] | None
    activities: list[ActivityOut] | None


class ErrorBody(msgspec.Struct):
    """Every whole-request error: ``extra.error`` is a stable code a client can switch on."""

    status_code: int
    detail: str
    extra: dict[str, str]
