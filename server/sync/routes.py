"""``POST /api/v1/sync/push`` and ``GET /api/v1/sync/pull`` (docs/sync.md)."""

from __future__ import annotations

import msgspec
from litestar import Request, get, post
from litestar.params import FromQuery

from server.accounts.auth import bearer_only
from server.sync import pull as pull_mod
from server.sync import push as push_mod
from server.sync.body import read_body, require_json, whole_request_error
from server.sync.openapi import body_operation, error_responses, inline_schema
from server.sync.schemas import PullResponse, PushEnvelope, PushRequest, PushResponse
from server.sync.validate import YEARS, in_years

_decode_envelope = msgspec.json.Decoder(PushEnvelope).decode
_AUTH_ERRORS = (401, "token_missing, token_unknown, token_expired, token_revoked, user_inactive")


@post(
    "/api/v1/sync/push",
    guards=[bearer_only],
    opt={"exclude_from_csrf": True},
    status_code=200,
    tags=["sync"],
    summary="Push a batch of records and activities",
    # read_body enforces FIELDLOG_PUSH_MAX_BYTES itself, on the wire and after gunzip.
    request_max_body_size=None,
    operation_class=body_operation(
        {"application/json": inline_schema(PushRequest)},
        "A batch; may be sent with Content-Encoding: gzip.",
    ),
    responses=error_responses(
        (400, "malformed_json, bad_gzip, bad_envelope"),
        _AUTH_ERRORS,
        (413, "too_large, too_many_records"),
        (415, "unsupported_media_type"),
    ),
)
async def push(request: Request) -> PushResponse:
    """One result per item, in request order; one bad record never blocks the rest."""
    settings = request.app.state.settings
    require_json(request)
    body = await read_body(request, settings.push_max_bytes, allow_gzip=True)
    env = decode_envelope(body)
    limit = settings.push_max_records
    if len(env.records) > limit or len(env.activities) > limit:
        raise whole_request_error(
            413, "too_many_records", f"At most {limit} records and {limit} activities a batch."
        )
    return await push_mod.ingest(request.user, env, settings)


def decode_envelope(body: bytes) -> PushEnvelope:
    """The envelope, its items left raw; every way it can be unreadable is a 400 with a code."""
    try:
        env = _decode_envelope(body)
    except msgspec.ValidationError as exc:
        raise whole_request_error(
            400, "bad_envelope", f"The body must be {{client_time, records}}: {exc}"
        ) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        # UnicodeDecodeError: bytes that are not UTF-8 in a string; RecursionError: arrays or
        # objects nested deeper than the decoder goes (msgspec raises both as they are).
        raise whole_request_error(400, "malformed_json", "The body is not valid JSON.") from None
    if not in_years(env.client_time):
        # The skew, and every time stored with it, are computed from it: it must be a real date.
        raise whole_request_error(
            400,
            "bad_envelope",
            f"client_time must be the phone's clock, in the years {YEARS[0]}–{YEARS[1]}.",
        )
    return env


@get(
    "/api/v1/sync/pull",
    guards=[bearer_only],
    opt={"exclude_from_csrf": True},
    tags=["sync"],
    summary="Pull what changed since a cursor",
    responses=error_responses((400, "bad_cursor"), _AUTH_ERRORS),
)
async def pull(request: Request, cursor: FromQuery[str | None] = None) -> PullResponse:
    """The caller's changed records (paged) and, when changed, the reference lists."""
    return await pull_mod.pull(request.user, cursor, request.app.state.settings)


ROUTES = [push, pull]
