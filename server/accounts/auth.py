"""Who is calling: device bearer tokens for phones, cookie sessions for the console.

Both end up as a ``Principal`` on ``request.user``; guards below check role and channel.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import weakref
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hmac import compare_digest
from typing import Any, TypeVar

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from litestar.concurrency import sync_to_thread
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.middleware.csrf import CSRF_SECRET_LENGTH, generate_csrf_hash

from server.accounts.tables import Device
from server.connections import reading

T = TypeVar("T")

_hasher = PasswordHasher()
# Verified against when the phone is unknown, so a wrong phone costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
# last_seen_at is refreshed at most this often, so most requests do not write.
_TOUCH_EVERY = timedelta(hours=1)
# Argon2 runs at once when the caller names no limit (the CLI; the server passes its setting).
DEFAULT_HASH_CONCURRENCY = 2
# Per event loop (an asyncio.Semaphore belongs to one loop), then per limit.
_hash_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


class Principal(msgspec.Struct, frozen=True):
    id: int
    name: str
    role: str
    scope_unit: int | None
    device_id: int | None = None
    via: str = "bearer"  # or "session"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def _argon2(fn: Callable[[], T], limit: int) -> T:
    """Run ``fn`` in a thread, at most ``limit`` at once in this process.

    Each argon2 run takes 64 MiB and 4 lanes; the thread pool alone would let 40 concurrent
    (wrong) logins hold 40 × 64 MiB, so the rest wait here instead, costing no memory.
    """
    slots = _hash_slots.setdefault(asyncio.get_running_loop(), {})
    if limit not in slots:
        slots[limit] = asyncio.Semaphore(limit)
    async with slots[limit]:
        return await sync_to_thread(fn)


async def hash_password(password: str, limit: int = DEFAULT_HASH_CONCURRENCY) -> str:
    return await _argon2(lambda: _hasher.hash(password), limit)


async def verify_password(
    stored: str | None, password: str, limit: int = DEFAULT_HASH_CONCURRENCY
) -> bool:
    def check() -> bool:
        try:
            return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    return await _argon2(check, limit)


async def issue_device_token(user_id: int, label: str = "") -> tuple[str, int]:
    """Make a new device for ``user_id``; returns the bearer token (shown once) and device id."""
    token = secrets.token_urlsafe(32)
    rows = await Device.insert(
        Device(user=user_id, token_hash=hash_token(token), label=label[:200])
    ).run()
    return token, rows[0]["id"]


async def principal_for_token(token: str, token_days: int) -> Principal:
    sql = (
        "SELECT d.id AS device_id, d.revoked_at, d.last_seen_at, u.id, u.name, u.role,"
        ' u.scope_unit, u.active FROM device d JOIN fl_user u ON u.id = d."user"'
        " WHERE d.token_hash = ?"
    )
    # Every phone request passes here: the kept read connection, not one opened per query.
    async with reading() as db:
        rows = await db.fetch(sql, hash_token(token))
    if not rows:
        raise NotAuthorizedException(
            "This device token is not known; sign in again.", extra={"error": "token_unknown"}
        )
    row = rows[0]
    if row["revoked_at"] is not None:
        raise NotAuthorizedException(
            "This phone was signed out by a coordinator; sign in again.",
            extra={"error": "token_revoked"},
        )
    if not row["active"]:
        raise NotAuthorizedException(
            "This account is disabled; ask your coordinator.", extra={"error": "user_inactive"}
        )
    now = datetime.now(UTC)
    last_seen = _aware(row["last_seen_at"])
    if last_seen < now - timedelta(days=token_days):
        raise NotAuthorizedException(
            f"This sign-in was unused for over {token_days} days and has expired; sign in again.",
            extra={"error": "token_expired"},
        )
    if now - last_seen > _TOUCH_EVERY:
        await Device.update({Device.last_seen_at: now}).where(Device.id == row["device_id"])
    return Principal(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        scope_unit=row["scope_unit"],
        device_id=row["device_id"],
        via="bearer",
    )


async def principal_for_session(user_id: int) -> Principal | None:
    # Every console request passes here: the kept read connection, as for tokens.
    async with reading() as db:
        rows = await db.fetch(
            "SELECT id, name, role, scope_unit, active FROM fl_user WHERE id = ?", user_id
        )
    if not rows or not rows[0]["active"]:
        return None
    row = rows[0]
    return Principal(
        id=row["id"],
        name=row["name"],
        role=row["role"],
        scope_unit=row["scope_unit"],
        via="session",
    )


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class AuthMiddleware(AbstractAuthenticationMiddleware):
    """Bearer token first (phones), then the console's session cookie."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise NotAuthorizedException(
                    "Send the device token as 'Authorization: Bearer <token>'.",
                    extra={"error": "token_malformed"},
                )
            settings = connection.app.state.settings
            principal = await principal_for_token(token.strip(), settings.token_days)
            return AuthenticationResult(user=principal, auth=token)
        session = connection.scope.get("session") or {}
        if uid := session.get("uid"):
            principal = await principal_for_session(int(uid))
            if principal:
                return AuthenticationResult(user=principal, auth=None)
        raise NotAuthorizedException(
            "Sign in first: send 'Authorization: Bearer <device token>'.",
            extra={"error": "token_missing"},
        )


def require_roles(*roles: str):
    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        if connection.user.role not in roles:
            raise PermissionDeniedException(
                f"This needs the role {' or '.join(roles)}.", extra={"error": "forbidden_role"}
            )

    return guard


def bearer_only(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Phone endpoints take only device tokens, so a console cookie can never be used by CSRF."""
    if connection.user.via != "bearer":
        raise NotAuthorizedException(
            "This endpoint takes a device token, not a browser session.",
            extra={"error": "token_missing"},
        )


def csrf_for_sessions(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Litestar's CSRF check, for browser sessions only; use with ``exclude_from_csrf=True``.

    API writes opt out of the CSRF middleware so phones (bearer token, no cookies) need no CSRF
    cookie; a console session must still send the header, or any site could post with its
    cookie. Checked as the middleware does: header and cookie both signed, same secret.
    """
    if connection.user.via != "session":
        return
    config = connection.app.csrf_config
    header = _csrf_secret(connection.headers.get(config.header_name) or "", config.secret)
    cookie = _csrf_secret(connection.cookies.get(config.cookie_name) or "", config.secret)
    if header is None or cookie is None or not compare_digest(header, cookie):
        raise PermissionDeniedException(
            "CSRF token verification failed", extra={"error": "csrf_failed"}
        )


def _csrf_secret(token: str, secret: str) -> str | None:
    """The random part of ``token`` when Litestar's CSRF middleware signed it with ``secret``."""
    if len(token) <= CSRF_SECRET_LENGTH:
        return None
    value, digest = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
    expected = generate_csrf_hash(token=value, secret=secret)
    return value if compare_digest(digest, expected) else None
