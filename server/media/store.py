"""Photo files on disk: ``<media dir>/ab/<sha256>.<ext>``, written atomically."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from litestar.concurrency import sync_to_thread

# The header a client sends is not trusted; these magic bytes are.
_KINDS = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff(data: bytes) -> tuple[str, str] | None:
    """(mime, extension) of a JPEG, PNG or WebP, else None."""
    for magic, mime, ext in _KINDS:
        if data.startswith(magic):
            return mime, ext
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def photo_path(root: Path, sha256: str, ext: str) -> Path:
    return root / sha256[:2] / f"{sha256}.{ext}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        # A reader sees the old file or the whole new one, never half of it.
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


async def write_atomic(path: Path, data: bytes) -> None:
    await sync_to_thread(_write, path, data)


async def sha256_hex(data: bytes) -> str:
    # Hashing 5 MB takes milliseconds; off the event loop so other requests keep moving.
    return await sync_to_thread(lambda: hashlib.sha256(data).hexdigest())


async def exists(path: Path) -> bool:
    return await sync_to_thread(path.exists)
