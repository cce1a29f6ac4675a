"""Request and response bodies of the account endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

# Generous for "+86 139 0000 0011" typed any way; bounds the Python loop in normalise_phone.
MAX_PHONE = 32
# Longer than any real password; stops a huge one from reaching argon2.
MAX_PASSWORD = 1024
# An enrolment code is 8 characters; room for dashes and spaces around them.
MAX_CODE = 32


class LoginIn(msgspec.Struct, forbid_unknown_fields=False):
    phone: Annotated[str, Meta(max_length=MAX_PHONE)]
    password: Annotated[str, Meta(max_length=MAX_PASSWORD)]


class EnrolIn(msgspec.Struct):
    code: Annotated[str, Meta(max_length=MAX_CODE)]


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
