"""Serves the field app in ``pwa/``: the shell, the service worker, the manifest, and every other
file under a content-derived URL ``/static/<version>/<path>`` that may be cached forever.

The version is a short hash of every served file, computed once per process, so a deploy that
changes any byte changes every static URL, the service worker's bytes (hence an update) and its
cache names. There is no build step: the few placeholders below are replaced by string at load.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import posixpath
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

PWA_DIR = Path(__file__).resolve().parents[2] / "pwa"
SERVED_SUFFIXES = {".html", ".js", ".css", ".json", ".webmanifest", ".png", ".svg", ".ico"}
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# Pages and the worker must be revalidated on every load, or a deploy never reaches a phone.
NO_CACHE = {"Cache-Control": "no-cache"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
OPT = {"exclude_from_auth": True}
# Served only with their placeholders filled in, at their own URLs.
TEMPLATED = {"index.html", "sw.js", "manifest.webmanifest"}
# Placeholders in the source files.
P_STATIC = "__STATIC__"  # /static/<version>
P_VERSION = "__VERSION__"
P_DEMO = "__DEMO__"
P_TZ = "__TZ__"
P_PRELOAD = "<!--__PRELOAD__-->"
P_ASSETS = '["__ASSETS__"]'


@dataclass(eq=False)  # hashed by identity, so the rendered shell can be cached per bundle
class Bundle:
    version: str
    files: dict[str, bytes] = field(default_factory=dict)  # "app/main.js" -> bytes

    @property
    def prefix(self) -> str:
        return f"/static/{self.version}"

    def shell(self, demo: bool, tz: str) -> bytes:
        return _shell(self, demo, tz)

    def manifest(self) -> bytes:
        return self.files["manifest.webmanifest"].decode().replace(P_STATIC, self.prefix).encode()

    def precache(self) -> list[str]:
        """What the service worker stores on install: enough to start with no network."""
        names = [n for n in self.files if n not in TEMPLATED]
        return ["/", "/manifest.webmanifest", *(f"{self.prefix}/{n}" for n in sorted(names))]

    def service_worker(self) -> bytes:
        text = self.files["sw.js"].decode()
        text = text.replace(P_ASSETS, json.dumps(self.precache())).replace(P_STATIC, self.prefix)
        return text.replace(P_VERSION, self.version).encode()


def load_bundle(root: Path) -> Bundle:
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in SERVED_SUFFIXES:
            files[path.relative_to(root).as_posix()] = path.read_bytes()
    digest = hashlib.sha256()
    for name, data in files.items():
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return Bundle(version=digest.hexdigest()[:12], files=files)


@cache
def bundle() -> Bundle:
    return load_bundle(PWA_DIR)


_STATIC_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^"';]*?(?:\bfrom\s*)?["'](\.{1,2}/[^"']+)["']""", re.M
)


def static_imports(files: dict[str, bytes], entry: str) -> list[str]:
    """Every module ``entry`` loads through static imports (not ``import()``), itself excluded."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        name = todo.pop()
        base = PurePosixPath(name).parent
        for spec in _STATIC_IMPORT.findall(files.get(name, b"").decode()):
            dep = posixpath.normpath(str(base / spec))
            if dep not in seen and dep in files:
                seen.add(dep)
                todo.append(dep)
    return sorted(seen - {entry})


@cache
def _shell(b: Bundle, demo: bool, tz: str) -> bytes:
    # modulepreload flattens the import waterfall: on a 400 ms round trip each level costs a
    # lot. Only what the first screen needs; views loaded by import() come later.
    preload = "\n".join(
        f'<link rel="modulepreload" href="{b.prefix}/{n}">'
        for n in static_imports(b.files, "app/main.js")
    )
    text = b.files["index.html"].decode()
    text = text.replace(P_PRELOAD, preload).replace(P_STATIC, b.prefix)
    text = text.replace(P_VERSION, b.version).replace(P_DEMO, "1" if demo else "0")
    return text.replace(P_TZ, tz).encode()


def _shell_response(request: Request) -> Response:
    settings = request.app.state.settings
    return Response(
        bundle().shell(settings.demo, settings.timezone),
        media_type="text/html; charset=utf-8",
        headers=NO_CACHE,
    )


@get("/", opt=OPT, include_in_schema=False, sync_to_thread=False)
def shell(request: Request) -> Response:
    return _shell_response(request)


@get("/enrol", opt=OPT, include_in_schema=False, sync_to_thread=False)
def enrol_page(request: Request) -> Response:
    """The same shell; the app reads ``?code=`` and enrols the phone itself."""
    return _shell_response(request)


@get("/sw.js", opt=OPT, include_in_schema=False, sync_to_thread=False)
def service_worker() -> Response:
    return Response(
        bundle().service_worker(),
        media_type=TYPES[".js"],
        headers={**NO_CACHE, "Service-Worker-Allowed": "/"},
    )


@get("/manifest.webmanifest", opt=OPT, include_in_schema=False, sync_to_thread=False)
def manifest() -> Response:
    return Response(bundle().manifest(), media_type=TYPES[".webmanifest"], headers=NO_CACHE)


@get("/static/{version:str}/{path:path}", opt=OPT, include_in_schema=False, sync_to_thread=False)
def static(version: FromPath[str], path: FromPath[str]) -> Response:
    b = bundle()
    name = path.lstrip("/")
    # An old version's URL must not get new bytes: they would be cached as immutable under it.
    if version != b.version or name not in b.files or name in TEMPLATED:
        raise NotFoundException("No such file in this version of the app.")
    suffix = Path(name).suffix
    media_type = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(b.files[name], media_type=media_type, headers=IMMUTABLE)


ROUTES: list = [shell, enrol_page, service_worker, manifest, static]
