"""Failed password sign-ins per phone number, kept in Litestar's ``rate_limit`` store.

The per-address limit (``RateLimitConfig``) stops one client hammering; this one stops guessing
one person's password from many addresses, without punishing a station whose phones all share
one Wi-Fi address. Only failures count: a success gives back the attempt it reserved.
"""

from __future__ import annotations

import asyncio
import weakref

from litestar import Litestar
from litestar.exceptions import TooManyRequestsException
from litestar.stores.base import Store

# The store RateLimitConfig uses, so both limits live wherever the app keeps that store.
STORE_NAME = "rate_limit"
# Keys are prefixed: the store is shared with the per-address limiter (and MemoryStore has no
# with_namespace, only the Redis and file stores do).
_PREFIX = "login-failures:"

# Read-count-write must not interleave between two requests of this process (one lock per
# event loop: an asyncio.Lock belongs to the loop it first waits in).
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _store(app: Litestar) -> Store:
    return app.stores.get(STORE_NAME)


def _lock() -> asyncio.Lock:
    return _locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())


async def _add(store: Store, key: str, delta: int, window: int) -> int:
    """Add ``delta`` to the count under ``key``, keeping the window its first failure opened."""
    key = _PREFIX + key
    async with _lock():
        raw = await store.get(key)
        count = int(raw) if raw else 0
        expires = (await store.expires_in(key)) if raw else None
        count = max(0, count + delta)
        await store.set(key, str(count), expires_in=expires if expires and expires > 0 else window)
        return count


async def reserve_attempt(
    app: Litestar, phone: str, limit: int, window_minutes: int, message: str
) -> None:
    """Count an attempt for ``phone`` as failed until ``refund_attempt`` says it succeeded.

    Raises the generic 429 before any check once ``phone`` has ``limit`` failures in the window,
    so a correct guess is not revealed either. Counting before the (slow) argon2 check stops
    concurrent guesses from all slipping under the limit.
    """
    store = _store(app)
    window = window_minutes * 60
    if await _add(store, phone, 1, window) > limit:
        await _add(store, phone, -1, window)
        retry = await store.expires_in(_PREFIX + phone)
        raise TooManyRequestsException(
            message, headers={"Retry-After": str(retry or window)}, extra={"error": "rate_limited"}
        )


async def refund_attempt(app: Litestar, phone: str, window_minutes: int) -> None:
    """The attempt reserved for ``phone`` succeeded: successes never count."""
    await _add(_store(app), phone, -1, window_minutes * 60)
