"""Serving the field app: content-derived versions, cache headers, CSP, and the size budget."""

from __future__ import annotations

import dataclasses
import gzip
import json
import shutil
from html.parser import HTMLParser

from server.app import create_app
from server.web.routes import PWA_DIR, bundle, load_bundle, static_imports
from tests.conftest import http_client

SHELL_BUDGET = 50 * 1024


class _Scan(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        names = {k for k, _ in attrs}
        if tag == "script":
            self.in_script = True
            if "src" not in names:
                self.problems.append("script without src")
        if tag == "style":
            self.problems.append("<style> element")
        if "style" in names:
            self.problems.append(f"style attribute on <{tag}>")
        self.problems += [f"{k} on <{tag}>" for k in names if k.startswith("on")]
        for k, v in attrs:
            if v and v.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in {k}")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False

    def handle_data(self, data):
        if self.in_script and data.strip():
            self.problems.append("inline script content")


async def test_shell_is_revalidated_and_names_its_version(client):
    res = await client.get("/")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/html")
    assert res.headers["cache-control"] == "no-cache"
    version = bundle().version
    assert f'<meta name="fieldlog-version" content="{version}">' in res.text
    assert f"/static/{version}/app/main.js" in res.text
    assert "__" not in res.text.replace("__PRELOAD__", "")  # every placeholder filled


async def test_csp_header_on_pages(client):
    for path in ["/", "/enrol?code=abc", "/sw.js", "/manifest.webmanifest"]:
        csp = (await client.get(path)).headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp


async def test_enrol_serves_the_same_shell(client):
    a, b = await client.get("/"), await client.get("/enrol?code=ABCD-1234")
    assert b.status_code == 200 and a.text == b.text
    assert b.headers["cache-control"] == "no-cache"


async def test_service_worker_headers_and_version(client):
    res = await client.get("/sw.js")
    assert res.status_code == 200
    assert "javascript" in res.headers["content-type"]
    assert res.headers["cache-control"] == "no-cache"
    assert res.headers["service-worker-allowed"] == "/"
    b = bundle()
    assert f'const VERSION = "{b.version}"' in res.text
    assert "__" not in res.text
    assets = json.loads(res.text.split("const ASSETS = ", 1)[1].split(";", 1)[0])
    assert "/" in assets and f"{b.prefix}/app/main.js" in assets
    # It wires fetch but leaves every non-GET request alone (no respondWith for POST/PUT).
    assert 'if (request.method !== "GET") return;' in res.text


async def test_manifest(client):
    res = await client.get("/manifest.webmanifest")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("application/manifest+json")
    m = res.json()
    assert m["name"] == "志愿服务台账" and m["short_name"] == "台账"
    assert m["start_url"] == "/" and m["scope"] == "/" and m["display"] == "standalone"
    assert m["theme_color"]
    assert any(i["purpose"] == "maskable" for i in m["icons"])
    for icon in m["icons"]:
        got = await client.get(icon["src"])
        assert got.status_code == 200 and got.headers["content-type"] == "image/png"
        assert got.content.startswith(b"\x89PNG")


async def test_static_files_are_immutable_under_their_version(client):
    b = bundle()
    for url in b.precache():
        if not url.startswith("/static/"):
            continue
        res = await client.get(url)
        assert res.status_code == 200, url
        assert res.headers["cache-control"] == "public, max-age=31536000, immutable"
    js = await client.get(f"{b.prefix}/app/main.js")
    assert js.headers["content-type"].startswith("text/javascript")


async def test_other_versions_and_unknown_files_are_not_served(client):
    b = bundle()
    assert (await client.get("/static/000000000000/app/main.js")).status_code == 404
    assert (await client.get(f"{b.prefix}/nope.js")).status_code == 404
    assert (await client.get(f"{b.prefix}/icons/make_icons.py")).status_code == 404
    for templated in ["index.html", "sw.js", "manifest.webmanifest"]:
        assert (await client.get(f"{b.prefix}/{templated}")).status_code == 404
    assert (await client.get(f"{b.prefix}/../server/app.py")).status_code == 404
    assert (await client.get(f"{b.prefix}/%2e%2e/pyproject.toml")).status_code == 404


async def test_static_routes_need_no_sign_in(client):
    for url in ["/", "/sw.js", "/manifest.webmanifest", f"{bundle().prefix}/app.css"]:
        assert (await client.get(url)).status_code == 200


def test_version_follows_content(tmp_path):
    copy = tmp_path / "pwa"
    shutil.copytree(PWA_DIR, copy)
    first = load_bundle(copy)
    assert first.version == bundle().version  # the same bytes, the same version
    assert load_bundle(copy).version == first.version
    css = copy / "app.css"
    css.write_text(css.read_text() + "\n/* changed */\n")
    changed = load_bundle(copy)
    assert changed.version != first.version
    assert changed.version in changed.service_worker().decode()
    # A new file changes it too, and so does a renamed one.
    (copy / "lib" / "extra.js").write_text("export {};\n")
    assert load_bundle(copy).version != changed.version


async def test_no_inline_script_or_style_in_served_html(client):
    for path in ["/", "/enrol"]:
        scan = _Scan()
        scan.feed((await client.get(path)).text)
        assert scan.problems == []


def test_no_html_injection_sinks_in_app_code():
    for path in PWA_DIR.rglob("*.js"):
        text = path.read_text()
        for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("]:
            assert sink not in text, f"{path.name} uses {sink}"


def test_shell_fits_the_gzip_budget():
    b = bundle()
    shell = [b.shell(False, "Asia/Shanghai"), b.manifest(), b.service_worker()]
    shell += [
        data
        for name, data in b.files.items()
        if name.endswith((".js", ".css", ".json")) and name != "sw.js"
    ]
    total = sum(len(gzip.compress(data, 9)) for data in shell)
    assert total <= SHELL_BUDGET, f"app shell is {total} bytes gzipped"


async def test_demo_marker(settings):
    async with http_client(create_app(dataclasses.replace(settings, demo=True))) as c:
        assert '<meta name="fieldlog-demo" content="1">' in (await c.get("/")).text
    async with http_client(create_app(settings)) as c:
        assert '<meta name="fieldlog-demo" content="0">' in (await c.get("/")).text


async def test_shell_is_sent_gzipped(client):
    res = await client.get("/", headers={"accept-encoding": "gzip"})
    assert res.headers.get("content-encoding") == "gzip"


async def test_shell_preloads_the_first_screen_modules_only(client):
    b = bundle()
    text = (await client.get("/")).text
    first = static_imports(b.files, "app/main.js")
    assert "lib/db.js" in first and "app/login.js" in first
    for name in first:
        assert f'<link rel="modulepreload" href="{b.prefix}/{name}">' in text
    # Views behind import() are not on the first screen's critical path.
    assert f"{b.prefix}/app/log.js" not in text


def test_both_languages_have_the_same_strings():
    zh = json.loads((PWA_DIR / "app/i18n/zh-CN.json").read_text())
    en = json.loads((PWA_DIR / "app/i18n/en.json").read_text())
    assert set(zh) == set(en)
    assert zh["sync.records"] == "正在上传 {done}/{total}" and zh["banner.update"] == "新版本可用"
