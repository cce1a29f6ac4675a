"""``PUT /api/v1/photos/{sha256}``: a phone uploads a photo a pushed record named."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import msgspec
from litestar import Request, Response, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from server.accounts.auth import bearer_only
from server.connections import reading, run_write
from server.db import SQL, bump_seq
from server.media import store
from server.sync.body import read_body, whole_request_error
from server.sync.openapi import body_operation, error_responses

_SHA = re.compile(r"^[0-9a-f]{64}$")
_BINARY = {"type": "string", "format": "binary"}

# The photo is stored first, then every record that was waiting only for it is complete.
_CLEAR_MISSING = (
    "UPDATE service_record SET missing_media = ?, change_seq = ?, updated_at = ?"
    " WHERE missing_media AND id IN (SELECT record FROM record_photo WHERE sha256 = ?)"
    " AND NOT EXISTS (SELECT 1 FROM record_photo rp LEFT JOIN photo p ON p.sha256 = rp.sha256"
    " WHERE rp.record = service_record.id AND p.sha256 IS NULL)"
)


# A photo is kept only for a record that names it: otherwise any token could fill the disk.
_STATE = (
    "SELECT EXISTS (SELECT 1 FROM record_photo rp JOIN service_record r ON r.id = rp.record"
    " WHERE rp.sha256 = ? AND r.author = ? AND r.deleted_at IS NULL) AS referenced,"
    " (SELECT mime FROM photo WHERE sha256 = ?) AS stored_mime"
)


class PhotoOut(msgspec.Struct):
    sha256: str
    mime: str
    size: int
    created: bool


@put(
    "/api/v1/photos/{sha256:str}",
    guards=[bearer_only],
    opt={"exclude_from_csrf": True},
    tags=["sync"],
    summary="Upload a photo named by a record",
    # read_body enforces FIELDLOG_PHOTO_MAX_BYTES while streaming (413 too_large).
    request_max_body_size=None,
    operation_class=body_operation(
        {m: _BINARY for m in ("image/jpeg", "image/png", "image/webp")},
        "The raw image bytes; their SHA-256 must be the one in the path.",
    ),
    responses={
        201: ResponseSpec(data_container=PhotoOut, description="Stored now"),
        **error_responses(
            (400, "hash_mismatch (cut upload: send again), bad_hash"),
            (401, "token_missing, token_unknown, token_expired, token_revoked, user_inactive"),
            (409, "not_referenced: none of your records names this photo; push the record first"),
            (413, "too_large"),
            (415, "unsupported_media_type"),
        ),
    },
)
async def put_photo(request: Request, sha256: FromPath[str]) -> Response[PhotoOut]:
    """201 when stored now, 200 when the server already had it; 409 when no record of the
    caller names it."""
    settings = request.app.state.settings
    if not _SHA.match(sha256):
        raise whole_request_error(400, "bad_hash", "The path must be a lower-case SHA-256 hex.")
    data = await read_body(request, settings.photo_max_bytes)
    if await store.sha256_hex(data) != sha256:
        raise whole_request_error(
            400, "hash_mismatch", "The bytes do not match the SHA-256; the upload was cut. Retry."
        )
    kind = store.sniff(data)
    if kind is None:
        raise whole_request_error(
            415, "unsupported_media_type", "Only JPEG, PNG and WebP photos are kept."
        )
    mime, ext = kind
    async with reading() as db:
        state = (await db.fetch(_STATE, sha256, request.user.id, sha256))[0]
    if not state["referenced"]:
        raise whole_request_error(
            409,
            "not_referenced",
            "None of your records names this photo. Push the record first, then upload its"
            " missing_photos.",
        )
    path = store.photo_path(settings.resolved_media_dir, sha256, ext)
    if not await store.exists(path):
        await store.write_atomic(path, data)
    if state["stored_mime"] is not None:
        # Already kept: no write, no change number, no lock.
        return Response(
            PhotoOut(sha256=sha256, mime=mime, size=len(data), created=False), status_code=200
        )
    now = datetime.now(UTC)

    async def store_row(db: SQL) -> bool:
        inserted = await db.fetch(
            "INSERT INTO photo (sha256, mime, size, uploaded_by, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
            sha256,
            mime,
            len(data),
            request.user.id,
            now,
        )
        if inserted:
            # The change number after the insert: the records whose missing_media clears reach
            # phones by pull. A concurrent identical upload that lost the insert writes nothing.
            await db.execute(_CLEAR_MISSING, False, await bump_seq(db), now, sha256)
        return bool(inserted)

    created = await run_write(store_row)
    return Response(
        PhotoOut(sha256=sha256, mime=mime, size=len(data), created=created),
        status_code=201 if created else 200,
    )


ROUTES = [put_photo]
