"""Draws the app icons as PNGs with the standard library only (no image tools on the build box).

Run ``python3 pwa/icons/make_icons.py`` after changing it and commit the PNGs it writes. The
design is a white ledger page with ruled lines and a tick on the theme red; the maskable icon
keeps it inside the central safe zone (a circle of 80 % of the width) with a full-bleed red.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

RED = (183, 28, 28)
WHITE = (255, 255, 255)
LINE = (239, 154, 154)
HERE = Path(__file__).parent


def draw(size: int, page: float) -> list[bytearray]:
    """``page``: the ledger page's height as a share of the icon."""
    rows = [bytearray(RED * size) for _ in range(size)]
    h = size * page
    w = h * 0.78
    x0, y0 = (size - w) / 2, (size - h) / 2
    radius = w * 0.08

    def inside_page(x: float, y: float) -> bool:
        if not (x0 <= x <= x0 + w and y0 <= y <= y0 + h):
            return False
        cx = min(max(x, x0 + radius), x0 + w - radius)
        cy = min(max(y, y0 + radius), y0 + h - radius)
        return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2

    def on_tick(x: float, y: float) -> bool:
        # Two strokes of a check mark in the lower part of the page.
        t = w * 0.075
        ax, ay = x0 + w * 0.22, y0 + h * 0.66
        bx, by = x0 + w * 0.42, y0 + h * 0.82
        cx, cy = x0 + w * 0.80, y0 + h * 0.50
        return _near(x, y, ax, ay, bx, by, t) or _near(x, y, bx, by, cx, cy, t)

    for py in range(size):
        row = rows[py]
        for px in range(size):
            x, y = px + 0.5, py + 0.5
            if not inside_page(x, y):
                continue
            colour = WHITE
            rel = (y - y0) / h
            if x0 + w * 0.15 < x < x0 + w * 0.85 and any(
                abs(rel - r) < 0.025 for r in (0.18, 0.30, 0.42)
            ):
                colour = LINE
            if on_tick(x, y):
                colour = RED
            row[px * 3 : px * 3 + 3] = bytes(colour)
    return rows


def _near(x, y, ax, ay, bx, by, t) -> bool:
    dx, dy = bx - ax, by - ay
    k = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
    return (x - ax - k * dx) ** 2 + (y - ay - k * dy) ** 2 <= t * t


def png(rows: list[bytearray]) -> bytes:
    size = len(rows)
    raw = b"".join(b"\0" + bytes(r) for r in rows)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    for name, size, page in [
        ("icon-192.png", 192, 0.72),
        ("icon-512.png", 512, 0.72),
        ("apple-touch-icon.png", 180, 0.66),
        ("maskable-512.png", 512, 0.56),
    ]:
        (HERE / name).write_bytes(png(draw(size, page)))
        print("wrote", name)


if __name__ == "__main__":
    main()
