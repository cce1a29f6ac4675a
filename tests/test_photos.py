"""PUT /api/v1/photos/{sha256}: sniffed, hash-checked, idempotent, only for a record that
names it, and completing records."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from server.media.tables import Photo
from server.records.tables import ServiceRecord
from server.sync.tables import SyncCounter
from tests.factories import record
from tests.sync_support import api_fixture, batch, pull_all, push, push_ok  # noqa: F401

JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 " + b"\x01" * 300


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def put(api, world, data: bytes, digest: str | None = None, who: str = "vol_wang"):
    headers = {**world.auth(who), "content-type": "image/jpeg"}
    return await api.put(f"/api/v1/photos/{digest or sha(data)}", content=data, headers=headers)


async def name_photos(api, world, *photos: bytes, who: str = "vol_wang") -> str:
    """Push a record of ``who`` naming these photos: only then may they be uploaded."""
    team = "NC-ZHL-T" if who == "vol_zhao" else "NC-TRUCK"
    rec = record(world, author=who, team=team, photos=[sha(p) for p in photos])
    assert (await push_ok(api, world, who, [rec]))[0]["result"] == "created"
    return rec["id"]


async def counter() -> int:
    return (await SyncCounter.select(SyncCounter.value))[0]["value"]


async def test_put_stores_file_then_is_idempotent(api, world, settings):
    await name_photos(api, world, JPEG)
    r = await put(api, world, JPEG)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "sha256": sha(JPEG),
        "mime": "image/jpeg",
        "size": len(JPEG),
        "created": True,
    }
    path = settings.resolved_media_dir / sha(JPEG)[:2] / f"{sha(JPEG)}.jpg"
    assert path.read_bytes() == JPEG
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    again = await put(api, world, JPEG)
    assert again.status_code == 200 and again.json()["created"] is False
    assert await Photo.count() == 1


async def test_png_and_webp_sniffed_from_bytes_not_header(api, world, settings):
    await name_photos(api, world, PNG, WEBP)
    for data, mime, ext in ((PNG, "image/png", "png"), (WEBP, "image/webp", "webp")):
        r = await put(api, world, data)  # the header says image/jpeg; the bytes win
        assert r.status_code == 201 and r.json()["mime"] == mime
        assert (settings.resolved_media_dir / sha(data)[:2] / f"{sha(data)}.{ext}").exists()


async def test_cut_upload_is_hash_mismatch(api, world, settings):
    whole = JPEG + b"only-in-this-test"
    await name_photos(api, world, whole)
    r = await put(api, world, whole[: len(whole) // 2], digest=sha(whole))
    assert r.status_code == 400 and r.json()["extra"]["error"] == "hash_mismatch"
    assert await Photo.count() == 0
    assert not (settings.resolved_media_dir / sha(whole)[:2] / f"{sha(whole)}.jpg").exists()
    # Sent again whole, it is kept.
    assert (await put(api, world, whole)).status_code == 201


async def test_not_an_image_is_415(api, world):
    data = b"GIF89a" + b"\x00" * 50
    await name_photos(api, world, data)
    r = await put(api, world, data)
    assert r.status_code == 415 and r.json()["extra"]["error"] == "unsupported_media_type"


async def test_over_the_limit_is_413(api, world, settings):
    data = JPEG + b"\x00" * settings.photo_max_bytes
    r = await put(api, world, data)
    assert r.status_code == 413 and r.json()["extra"]["error"] == "too_large"


async def test_bad_hash_in_path(api, world):
    r = await put(api, world, JPEG, digest="ABC")
    assert r.status_code == 400 and r.json()["extra"]["error"] == "bad_hash"


async def test_needs_a_device_token(api, world):
    r = await api.put(f"/api/v1/photos/{sha(JPEG)}", content=JPEG)
    assert r.status_code == 401 and r.json()["extra"]["error"] == "token_missing"


async def test_last_missing_photo_clears_missing_media_and_reaches_pull(api, world):
    # Two identical photos in one record count once; a second photo is also missing.
    rec = record(world, photos=[sha(JPEG), sha(PNG), sha(JPEG)], photo_consent=True)
    res = await push_ok(api, world, "vol_wang", [rec])
    assert res[0]["missing_photos"] == [sha(JPEG), sha(PNG)]
    _, cursor = await pull_all(api, world, "vol_wang")

    assert (await put(api, world, JPEG)).status_code == 201
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["missing_media"] is True  # the PNG is still missing
    assert row["photos"] == f"{sha(JPEG)},{sha(PNG)}"

    assert (await put(api, world, PNG)).status_code == 201
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["missing_media"] is False
    changed, _ = await pull_all(api, world, "vol_wang", cursor)
    assert [(r["id"], r["missing_media"]) for r in changed] == [(rec["id"], False)]


async def test_photo_already_on_server_is_not_missing(api, world):
    await name_photos(api, world, JPEG)
    assert (await put(api, world, JPEG)).status_code == 201
    rec = record(world, photos=[sha(JPEG)])
    res = await push_ok(api, world, "vol_wang", [rec])
    assert res[0]["missing_photos"] == []
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    assert row["missing_media"] is False


async def test_two_identical_uploads_at_once(api, world):
    await name_photos(api, world, JPEG)
    a, b = await asyncio.gather(put(api, world, JPEG), put(api, world, JPEG))
    assert sorted([a.status_code, b.status_code]) == [200, 201]
    assert await Photo.count() == 1


async def test_a_photo_no_record_names_is_refused(api, world, settings):
    data = JPEG + b"named-by-no-record"
    r = await put(api, world, data)
    assert r.status_code == 409 and r.json()["extra"]["error"] == "not_referenced"
    assert "Push the record first" in r.json()["detail"]
    assert await Photo.count() == 0
    assert not (settings.resolved_media_dir / sha(data)[:2] / f"{sha(data)}.jpg").exists()


async def test_only_the_author_of_a_naming_record_may_upload(api, world):
    await name_photos(api, world, JPEG, who="vol_li")
    r = await put(api, world, JPEG, who="vol_wang")  # a teammate, but not the author
    assert r.status_code == 409 and r.json()["extra"]["error"] == "not_referenced"
    assert (await put(api, world, JPEG, who="vol_li")).status_code == 201


async def test_a_deleted_record_no_longer_admits_its_photos(api, world):
    rid = await name_photos(api, world, JPEG)
    await ServiceRecord.update({ServiceRecord.deleted_at: datetime.now(UTC)}).where(
        ServiceRecord.id == rid
    )
    r = await put(api, world, JPEG)
    assert r.status_code == 409 and r.json()["extra"]["error"] == "not_referenced"


async def test_a_photo_already_kept_is_not_written_again(api, world, monkeypatch):
    from server.media import routes

    await name_photos(api, world, JPEG)
    assert (await put(api, world, JPEG)).status_code == 201
    before = await counter()

    async def no_write(fn):
        raise AssertionError("an upload of a kept photo must not take the write lock")

    monkeypatch.setattr(routes, "run_write", no_write)
    again = await put(api, world, JPEG)
    assert again.status_code == 200 and again.json()["created"] is False
    assert await counter() == before


async def test_upload_racing_the_push_that_names_it(api, world):
    """The phone uploads only after the push answers, but an outside client may not: whichever
    lands first, the record and the photo end up consistent."""
    rec = record(world, photos=[sha(JPEG)], photo_consent=True)
    pushed, uploaded = await asyncio.gather(
        push(api, world, "vol_wang", batch([rec])), put(api, world, JPEG)
    )
    assert pushed.status_code == 200
    result = pushed.json()["results"][0]
    assert result["result"] == "created"
    row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
    if uploaded.status_code == 201:  # the push committed first
        assert row["missing_media"] is False and await Photo.count() == 1
    else:  # the upload came first and was refused; the phone sends it again
        assert uploaded.status_code == 409, uploaded.text
        assert result["missing_photos"] == [sha(JPEG)] and row["missing_media"] is True
        assert (await put(api, world, JPEG)).status_code == 201
        row = (await ServiceRecord.select().where(ServiceRecord.id == rec["id"]))[0]
        assert row["missing_media"] is False
