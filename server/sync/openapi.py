"""OpenAPI for handlers that read their body themselves.

Such a handler has no ``data`` parameter, so Litestar documents no request body; an operation
class fills it in from the msgspec schema. The schema is inlined (``$defs`` resolved) because
Litestar replaces ``components.schemas`` with its own registry when it builds the document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody

from server.sync.schemas import ErrorBody


def inline_schema(tp: Any) -> dict[str, Any]:
    schema = msgspec.json.schema(tp)
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    return resolve(schema)


def body_operation(content: dict[str, dict[str, Any]], description: str) -> type[Operation]:
    """An Operation class whose request body is ``content`` (media type -> JSON schema)."""

    @dataclass
    class RawBodyOperation(Operation):
        def __post_init__(self) -> None:
            self.request_body = RequestBody(
                required=True,
                description=description,
                content={
                    media: OpenAPIMediaType(schema=schema)  # type: ignore[arg-type]
                    for media, schema in content.items()
                },
            )

    return RawBodyOperation


def error_responses(*codes: tuple[int, str]) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(data_container=ErrorBody, description=text) for status, text in codes
    }
