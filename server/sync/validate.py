"""Judging one pushed item: decode with msgspec constraints, then the rules that need data.

Every function here is per item and cheap; the data (memberships, categories, activities) is
loaded once per batch into ``Lookups``.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec

from server.sync.schemas import ActivityIn, FieldError, RecordIn

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Every date and time a phone sends must fall in these years. A phone clock may be far off (see
# clock skew), so the window is wide; outside it a time is nonsense, and converting it to UTC or
# storing it could overflow (Python, SQLite and PostgreSQL each have their own limits).
YEARS = (1900, 2100)
# A NUL makes PostgreSQL refuse the whole statement; other control characters have no place in a
# place name or title either. Descriptions may keep line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What reading a single item can raise besides msgspec's own errors: bytes that are not UTF-8
# inside a string (the envelope decoder keeps items raw, so it never looked), or nesting deeper
# than the decoder's recursion limit.
_UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
_FIELDS = {
    cls: [(f.encode_name, f.type, f.required) for f in msgspec.structs.fields(cls)]
    for cls in (RecordIn, ActivityIn)
}
_PATH = re.compile(r" - at `\$\.?([^`]*)`$")
_encode = msgspec.json.encode


@dataclass
class Lookups:
    """Reference data for one batch, so validating a record never queries the database."""

    author: int
    teams: set[int]
    members: dict[int, set[int]]
    categories: dict[str, tuple[int, bool]]  # code -> (id, has a quantity unit)
    # Activity id -> team id a record may name: the database's rows, plus the batch's new ones.
    activities: dict[str, int]
    units: set[int] = field(default_factory=set)
    # Activity id -> (team id, leader id) of every referenced activity the database holds.
    stored_activities: dict[str, tuple[int, int]] = field(default_factory=dict)


class Invalid(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors


def _code(message: str) -> str:
    if message.startswith("Object missing required field"):
        return "required"
    if "timezone" in message:
        return "offset_required"
    if "of length" in message:
        return "too_many" if "`array`" in message else "length"
    if ">=" in message or "<=" in message or "> " in message or "< " in message:
        return "range"
    if "matching regex" in message or message.startswith("Invalid"):
        return "format"
    return "type"


def _all_errors(raw: bytes, cls: type) -> list[FieldError]:
    """The slow path, for a bad item only: check field by field so every bad field is listed."""
    try:
        obj = msgspec.json.decode(raw)
    except _UNREADABLE:
        return [FieldError("$", "malformed", "This item is not valid JSON.")]
    if not isinstance(obj, dict):
        return [FieldError("$", "type", "Each item must be a JSON object.")]
    errors = []
    for name, ftype, required in _FIELDS[cls]:
        if name not in obj:
            if required:
                errors.append(FieldError(name, "required", f"`{name}` is required."))
            continue
        try:
            msgspec.convert(obj[name], ftype)
        except msgspec.ValidationError as exc:
            message = _PATH.sub("", str(exc))
            errors.append(FieldError(name, _code(message), message))
    return errors or [FieldError("$", "type", "This item could not be read.")]


def item_id(raw: bytes) -> str | None:
    """The id of an item that failed to decode, for its result (null when unreadable)."""
    try:
        obj = msgspec.json.decode(raw)
    except _UNREADABLE:
        return None
    value = obj.get("id") if isinstance(obj, dict) else None
    return value if isinstance(value, str) and len(value) <= 64 else None


def decode(raw: bytes, cls: type) -> Any:
    """Decode one item; raises ``Invalid`` listing every bad field."""
    try:
        return msgspec.json.decode(raw, type=cls)
    except msgspec.ValidationError:
        raise Invalid(_all_errors(raw, cls)) from None
    except _UNREADABLE:
        raise Invalid([FieldError("$", "malformed", "This item is not valid JSON.")]) from None


def in_years(value: date | datetime) -> bool:
    """Whether a date or time falls in ``YEARS``, read from its own fields so nothing overflows
    (an offset is under a day, so the UTC instant stays in range too)."""
    return YEARS[0] <= value.year <= YEARS[1]


def _range_error(name: str) -> FieldError:
    return FieldError(name, "range", f"`{name}` must be in the years {YEARS[0]}–{YEARS[1]}.")


def _text_errors(errors: list[FieldError], *fields: tuple[str, str, bool]) -> None:
    for name, value, multiline in fields:
        if (_CONTROL_TEXT if multiline else _CONTROL).search(value):
            errors.append(
                FieldError(name, "format", f"`{name}` must not contain control characters.")
            )


def check_record(
    rec: RecordIn, lk: Lookups, now: datetime, skew_s: int, tolerance_s: int
) -> list[FieldError]:
    """The rules msgspec cannot check alone.

    ``skew_s`` is the phone clock's error when the batch is flagged as skewed, else 0: the
    service time is judged corrected by it, so a phone whose clock is years off (a reset phone
    says 1970) is neither "too early" nor "in the future" for it; the record is stored as sent
    and flagged for the coordinator.
    """
    errors: list[FieldError] = []
    if rec.team_id not in lk.teams:
        errors.append(FieldError("team_id", "not_member", "You are not a member of this team."))
    cat = lk.categories.get(rec.category)
    if cat is None:
        errors.append(FieldError("category", "unknown", f"Unknown category {rec.category!r}."))
    elif rec.quantity is not None and not cat[1]:
        errors.append(
            FieldError("quantity", "not_allowed", "This category does not record a quantity.")
        )
    if rec.activity_id is not None and lk.activities.get(rec.activity_id) != rec.team_id:
        errors.append(
            FieldError("activity_id", "unknown", "No such activity of this team; send it first.")
        )
    occurred = rec.occurred_at
    if not in_years(occurred):
        errors.append(_range_error("occurred_at"))
    else:
        if skew_s:
            occurred -= timedelta(seconds=skew_s)
        if occurred < EARLIEST:
            errors.append(
                FieldError("occurred_at", "too_early", "The service time is before 2000.")
            )
        elif (occurred - now).total_seconds() > tolerance_s:
            errors.append(FieldError("occurred_at", "future", "The service time is in the future."))
    if rec.created_at is not None and not in_years(rec.created_at):
        errors.append(_range_error("created_at"))
    _text_errors(errors, ("place", rec.place, False), ("description", rec.description, True))
    if rec.companions:
        team_members = lk.members.get(rec.team_id, set())
        for uid in rec.companions:
            if uid == lk.author:
                errors.append(
                    FieldError("companions", "self", "List the others who served, not yourself.")
                )
                break
            if uid not in team_members:
                errors.append(
                    FieldError("companions", "not_member", f"User {uid} is not in this team.")
                )
                break
    if (rec.lat is None) != (rec.lng is None) or (rec.accuracy_m is not None and rec.lat is None):
        errors.append(
            FieldError("lat", "incomplete", "Send lat, lng and accuracy_m together or not at all.")
        )
    if rec.place_unit_id is not None and rec.place_unit_id not in lk.units:
        errors.append(FieldError("place_unit_id", "unknown", "No such village or community."))
    return errors


def normalise(rec: RecordIn) -> None:
    """Drop repeated companions and photos; a repeated photo counts once, order kept."""
    if rec.companions:
        rec.companions = sorted(set(rec.companions))
    if len(rec.photos) > 1:
        rec.photos = list(dict.fromkeys(rec.photos))


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value is not None else None


def record_hash(rec: RecordIn) -> str:
    """SHA-256 of the canonical content: every field but ``base_version``, times in UTC."""
    content = (
        rec.id,
        rec.team_id,
        rec.category,
        rec.activity_id,
        rec.occurred_at.astimezone(UTC),
        rec.duration_min,
        rec.place,
        rec.place_unit_id,
        rec.beneficiaries,
        rec.description,
        rec.companions,
        rec.photos,
        rec.photo_consent,
        rec.quantity,
        rec.lat,
        rec.lng,
        rec.accuracy_m,
        rec.source,
        _utc(rec.created_at),
    )
    return hashlib.sha256(_encode(content)).hexdigest()


def check_activity(act: ActivityIn, lk: Lookups) -> list[FieldError]:
    errors = []
    if act.team_id not in lk.teams:
        errors.append(FieldError("team_id", "not_member", "You are not a member of this team."))
    _text_errors(errors, ("title", act.title, False), ("place", act.place, False))
    times_ok = True
    for name, value in (
        ("date", act.date),
        ("started_at", act.started_at),
        ("ended_at", act.ended_at),
    ):
        if value is not None and not in_years(value):
            errors.append(_range_error(name))
            times_ok = False
    if times_ok and act.ended_at and act.started_at and act.ended_at < act.started_at:
        errors.append(FieldError("ended_at", "range", "The end is before the start."))
    return errors


def activity_hash(act: ActivityIn) -> str:
    content = (
        act.id,
        act.team_id,
        act.title,
        act.date,
        act.place,
        _utc(act.started_at),
        _utc(act.ended_at),
    )
    return hashlib.sha256(_encode(content)).hexdigest()
