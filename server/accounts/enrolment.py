"""One-time enrolment codes: a coordinator prints one, the phone trades it for a device token."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from server.accounts.auth import issue_device_token
from server.accounts.tables import EnrolmentCode, User
from server.db import write_transaction

# No 0/O or 1/I: the code is often read aloud or copied by hand from a printout.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 8


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalise(raw: str) -> str | None:
    """``abcd-efgh`` and ``ABCD EFGH`` are the same code; ``None`` when it cannot be one."""
    code = re.sub(r"[\s\-]", "", raw).upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


async def create(user_id: int, hours: int) -> tuple[str, datetime]:
    """Store a new code for ``user_id``; returns the code (shown once) and when it expires."""
    code = new_code()
    expires = datetime.now(UTC) + timedelta(hours=hours)
    await EnrolmentCode.insert(
        EnrolmentCode(code_hash=hash_code(code), user=user_id, expires_at=expires)
    ).run()
    return code, expires


class _Refused(Exception):
    """Raised inside the transaction to roll it back."""


async def redeem(raw: str, label: str) -> tuple[str, int, int] | None:
    """Use up a code: ``(token, device_id, user_id)``, or ``None`` when it is wrong, used,
    expired or its person is disabled."""
    code = normalise(raw)
    if code is None:
        return None
    try:
        return await _redeem(code, label)
    except _Refused:
        return None


async def _redeem(code: str, label: str) -> tuple[str, int, int]:
    now = datetime.now(UTC)
    async with write_transaction():
        # One conditional UPDATE, so two phones racing with the same code cannot both win.
        rows = (
            await EnrolmentCode.update({EnrolmentCode.used_at: now})
            .where(
                (EnrolmentCode.code_hash == hash_code(code))
                & EnrolmentCode.used_at.is_null()
                & (EnrolmentCode.expires_at > now)
            )
            .returning(EnrolmentCode.user)
            .run()
        )
        if not rows:
            raise _Refused
        user_id = rows[0]["user"]
        if not await User.exists().where((User.id == user_id) & User.active.eq(True)):
            # Leave the code unused: re-enabling the person makes it work again until it expires.
            raise _Refused
        token, device_id = await issue_device_token(user_id, label)
    return token, device_id, user_id
