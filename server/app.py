"""The application: one ``create_app(settings)`` that lists every route handler."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from litestar import Litestar, Request, Response
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import ResponseHeader, State
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from server import db
from server.accounts.auth import AuthMiddleware
from server.accounts.routes import ROUTES as ACCOUNT_ROUTES
from server.media.routes import ROUTES as MEDIA_ROUTES
from server.records.routes import ROUTES as RECORD_ROUTES
from server.settings import Settings
from server.sync.routes import ROUTES as SYNC_ROUTES
from server.web.routes import ROUTES as WEB_ROUTES

log = logging.getLogger("fieldlog")
VERSION = "0.1.0"

# No inline scripts or styles anywhere, so the policy can be strict.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CSP),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="Permissions-Policy", value="geolocation=(self), camera=(self)"),
]


def create_app(settings: Settings) -> Litestar:
    settings = settings.with_secret()
    secret = settings.secret_key

    async def startup() -> None:
        await db.connect(settings)

    async def shutdown() -> None:
        await db.disconnect()

    session = CookieBackendConfig(
        secret=hashlib.sha256(secret.encode()).digest(),
        key="fieldlog_session",
        max_age=12 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.session_cookie_secure,
    )
    return Litestar(
        route_handlers=[*ACCOUNT_ROUTES, *SYNC_ROUTES, *MEDIA_ROUTES, *RECORD_ROUTES, *WEB_ROUTES],
        middleware=[
            session.middleware,
            DefineMiddleware(
                AuthMiddleware, exclude_from_auth_key="exclude_from_auth", exclude=["^/schema"]
            ),
        ],
        csrf_config=CSRFConfig(
            secret=secret,
            cookie_name="fieldlog_csrf",
            header_name="x-csrftoken",
            cookie_secure=settings.session_cookie_secure,
            exclude_from_csrf_key="exclude_from_csrf",
        ),
        compression_config=CompressionConfig(backend="gzip", minimum_size=512),
        openapi_config=OpenAPIConfig(
            title="Fieldlog API",
            version=VERSION,
            path="/schema",
            # JSON at /schema itself: a browsable UI would need inline scripts the CSP forbids.
            render_plugins=[
                JsonRenderPlugin(path=["/", "/openapi.json"]),
                YamlRenderPlugin(path="/openapi.yaml"),
            ],
        ),
        template_config=TemplateConfig(
            directory=[Path(__file__).parent / "templates"],
            engine=JinjaTemplateEngine,
        ),
        response_headers=SECURITY_HEADERS,
        exception_handlers={Exception: _internal_error},
        on_startup=[startup],
        on_shutdown=[shutdown],
        state=State({"settings": settings}),
        request_max_body_size=settings.push_max_bytes,
        debug=settings.debug,
    )


def _internal_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException):
        body = {"status_code": exc.status_code, "detail": exc.detail}
        if exc.extra:
            body["extra"] = exc.extra
        return Response(body, status_code=exc.status_code, headers=exc.headers)
    if isinstance(exc, UnicodeDecodeError | RecursionError):
        # Raised while Litestar decodes a body that is not UTF-8 or is nested absurdly deep.
        return Response(
            {
                "status_code": 400,
                "detail": "The request body is not valid UTF-8 JSON.",
                "extra": {"error": "malformed_json"},
            },
            status_code=400,
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return Response(
        {
            "status_code": 500,
            "detail": "Internal error; it has been logged.",
            "extra": {"error": "internal"},
        },
        status_code=500,
    )
