"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from datetime import datetime

import msgspec


class LoginIn(msgspec.Struct, forbid_unknown_fields=False):
    phone: str
    password: str


class EnrolIn(msgspec.Struct):
    code: str


class TeamOut(msgspec.Struct):
    id: int
    code: str
    name: str


class UserOut(msgspec.Struct):
    id: int
    name: str
    role: str
    volunteer_no: str | None
    phone_masked: str
    teams: list[TeamOut]


class SignedIn(msgspec.Struct):
    token: str
    """The device token; send it as ``Authorization: Bearer <token>``. Shown only this once."""
    device_id: int
    user: UserOut


class DeviceOut(msgspec.Struct):
    id: int
    user_id: int
    label: str
    created_at: datetime
    last_seen_at: datetime
    revoked_at: datetime | None
    current: bool
    """True for the device making this request."""
