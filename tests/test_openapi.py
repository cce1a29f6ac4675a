"""/schema/openapi.json lists every API endpoint with its request and response schemas."""

from __future__ import annotations

import msgspec
import pytest
from litestar.routes import HTTPRoute

from server.sync.schemas import RecordIn
from tests.sync_support import api_fixture  # noqa: F401


@pytest.fixture
async def spec(api) -> dict:
    r = await api.get("/schema/openapi.json")
    assert r.status_code == 200
    return r.json()


def resolve(spec: dict, schema: dict) -> dict:
    ref = schema.get("$ref")
    if ref:
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return schema


def documented_routes(app) -> set[tuple[str, str]]:
    out = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            if handler.include_in_schema:
                for method in handler.http_methods:
                    out.add((route.path_format, method.lower()))
    return out


async def test_every_api_endpoint_is_listed_with_a_response_schema(app, spec):
    routes = documented_routes(app)
    listed = {(p, m) for p, item in spec["paths"].items() for m in item}
    assert routes and routes <= listed
    for path, method in routes:
        op = spec["paths"][path][method]
        ok = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert ok, (path, method)
        for code, response in ok.items():
            if code != "204":
                assert response["content"]["application/json"]["schema"], (path, method, code)


async def test_push_documents_its_request_body_and_answers(spec):
    op = spec["paths"]["/api/v1/sync/push"]["post"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"client_time", "records"}
    record = body["properties"]["records"]["items"]
    fields = {f.encode_name for f in msgspec.structs.fields(RecordIn)}
    assert set(record["properties"]) == fields
    assert record["properties"]["duration_min"]["maximum"] == 1440
    assert {"400", "401", "413", "415"} <= set(op["responses"])
    ok = resolve(spec, op["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"server_time", "clock_skewed", "results", "activities"} <= set(ok["properties"])


async def test_pull_and_photos_and_records_are_described(spec):
    pull = spec["paths"]["/api/v1/sync/pull"]["get"]
    assert any(p["name"] == "cursor" for p in pull["parameters"])
    ok = resolve(spec, pull["responses"]["200"]["content"]["application/json"]["schema"])
    assert {"cursor", "more", "me", "records", "categories", "teams"} <= set(ok["properties"])
    photo = spec["paths"]["/api/v1/photos/{sha256}"]["put"]
    assert set(photo["requestBody"]["content"]) == {"image/jpeg", "image/png", "image/webp"}
    assert {"200", "201", "400", "413", "415"} <= set(photo["responses"])
    listing = spec["paths"]["/api/v1/records"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert {"team_id", "status", "month", "page", "per_page"} <= names
    assert "409" in spec["paths"]["/api/v1/records/{record_id}/withdraw"]["post"]["responses"]
