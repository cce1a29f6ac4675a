"""Reading a raw request body with our own limits, so every refusal has a stable error code."""

from __future__ import annotations

import zlib

from litestar import Request
from litestar.exceptions import HTTPException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge


def whole_request_error(status: int, code: str, detail: str) -> HTTPException:
    return HTTPException(detail=detail, status_code=status, extra={"error": code})


def too_large(limit: int) -> HTTPException:
    return whole_request_error(413, "too_large", f"The body is over {limit} bytes; split it.")


async def read_body(request: Request, limit: int, allow_gzip: bool = False) -> bytes:
    """The body, gunzipped when sent with ``Content-Encoding: gzip``; at most ``limit`` bytes
    either way, so a small gzip bomb cannot blow up memory."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    gz = allow_gzip and encoding == "gzip"
    if encoding not in ("identity", "") and not gz:
        raise whole_request_error(
            415, "unsupported_media_type", f"Content-Encoding {encoding!r} is not accepted."
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            chunks.append(chunk)
    except RequestEntityTooLarge:
        raise too_large(limit) from None
    body = b"".join(chunks)
    if not gz:
        return body
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise whole_request_error(400, "bad_gzip", "The body is not valid gzip.") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(limit)
    if not inflater.eof:
        raise whole_request_error(400, "bad_gzip", "The gzip body is cut short.")
    return out


def require_json(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise whole_request_error(
            415, "unsupported_media_type", "Send the batch as Content-Type: application/json."
        )
