"""The web client's static server: content types, headers, config, discovery, traversal."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from bridge.webclient import (
    WebClientNotBuiltError,
    WebClientSettings,
    create_web_app,
)

SECRET = "SECRET-OUTSIDE-DIST"
HOMESERVER = "https://matrix.example-care.org"

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A fake build: every kind of file the real one has, plus traps around it."""
    (tmp_path / "secret.txt").write_text(SECRET)
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "olm").mkdir()
    (root / "index.html").write_text("<!DOCTYPE html><title>index-marker</title>")
    (root / "app.js").write_text("console.log('app');")
    (root / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    (root / "carebridge.css").write_text("body{}")
    (root / "olm" / "olm.wasm").write_bytes(b"\x00asm\x01\x00\x00\x00")
    (root / "assets" / "theme.json").write_text("{}")
    (root / "assets" / "icon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (root / "assets" / "Inter.woff2").write_bytes(b"wOF2")
    (root / "assets" / "Inter.woff").write_bytes(b"wOFF")
    (root / "assets" / "blob.bin").write_bytes(b"\x01\x02")
    (root / "assets" / "download-sandbox.html").write_text("<a>Download</a>")
    (root / ".built").write_text("")
    (root / "escape").symlink_to(tmp_path)
    (root / "secret-link.txt").symlink_to(tmp_path / "secret.txt")
    return root


@pytest.fixture
def settings(dist: Path) -> WebClientSettings:
    return WebClientSettings(
        dist_dir=dist,
        homeserver_url=HOMESERVER,
        server_name="example-care.org",
        organization_name="St. Example Clinic",
        primary_colour="#0055AA",
        tagline="Staff messaging",
    )


@pytest_asyncio.fixture
async def client(aiohttp_client: ClientFactory, settings: WebClientSettings) -> Client:
    return await aiohttp_client(create_web_app(settings))


async def raw_get(client: Client, target: str) -> tuple[int, str]:
    """Send a request line exactly as written, with no client-side normalisation."""
    host = client.server.host
    port = client.server.port
    assert port is not None
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    text = data.decode("latin-1")
    status = int(text.split(" ", 2)[1])
    return status, text


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/", "text/html"),
        ("/index.html", "text/html"),
        ("/app.js", "text/javascript"),
        ("/sw.js", "text/javascript"),
        ("/carebridge.css", "text/css"),
        ("/olm/olm.wasm", "application/wasm"),
        ("/assets/theme.json", "application/json"),
        ("/assets/icon.svg", "image/svg+xml"),
        ("/assets/Inter.woff2", "font/woff2"),
        ("/assets/Inter.woff", "font/woff"),
        ("/assets/blob.bin", "application/octet-stream"),
    ],
)
async def test_content_types(client: Client, path: str, content_type: str) -> None:
    resp = await client.get(path)
    assert resp.status == 200
    assert resp.content_type == content_type
    assert resp.headers["Cache-Control"] == "no-cache"


@pytest.mark.asyncio
async def test_root_serves_index(client: Client) -> None:
    resp = await client.get("/")
    assert "index-marker" in await resp.text()


@pytest.mark.asyncio
async def test_head_request(client: Client) -> None:
    resp = await client.head("/app.js")
    assert resp.status == 200
    assert resp.content_type == "text/javascript"


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/", "/app.js", "/config.json", "/.well-known/matrix/client", "/nope"])
async def test_security_headers_on_every_response(
    client: Client,
    path: str,
) -> None:
    resp = await client.get(path)
    csp = resp.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == f"'self' {HOMESERVER}"
    # media comes from the homeserver with the access token, shown through blob: URLs
    assert directives["img-src"] == "'self' blob:"
    assert directives["media-src"] == "'self' blob:"
    # the one worker is the service worker from this origin; no frames at all
    assert directives["worker-src"] == "'self'" and "frame-src" not in directives
    assert "style-src-attr" not in directives
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "no-referrer"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.asyncio
async def test_config_json(client: Client) -> None:
    resp = await client.get("/config.json")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {
        "defaultHomeServer": HOMESERVER,
        "carebridge": {
            "organizationName": "St. Example Clinic",
            "tagline": "Staff messaging",
            "primaryColour": "#0055aa",
            "serverName": "example-care.org",
            "homeserverUrl": HOMESERVER,
            "lockHomeserver": True,
        },
    }


@pytest.mark.asyncio
async def test_web_manifest_makes_the_client_installable(client: Client) -> None:
    resp = await client.get("/manifest.webmanifest")
    assert resp.status == 200
    assert resp.content_type == "application/manifest+json"
    manifest = await resp.json()
    assert manifest["name"] == "St. Example Clinic" and manifest["short_name"] == "Messages"
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    assert manifest["display"] == "standalone"
    sizes = {(i["sizes"], i["purpose"]) for i in manifest["icons"] if i["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


@pytest.mark.asyncio
async def test_config_json_drops_trailing_slash(aiohttp_client: ClientFactory, dist: Path) -> None:
    settings = WebClientSettings(
        dist_dir=dist,
        homeserver_url="http://127.0.0.1:8008/",
        server_name="localhost",
        organization_name="Test",
    )
    client = await aiohttp_client(create_web_app(settings))
    body = await (await client.get("/config.json")).json()
    assert body["defaultHomeServer"] == "http://127.0.0.1:8008"


@pytest.mark.asyncio
async def test_well_known_client(client: Client) -> None:
    resp = await client.get("/.well-known/matrix/client")
    assert resp.status == 200
    assert resp.content_type == "application/json"
    assert await resp.json() == {
        "m.homeserver": {"base_url": HOMESERVER},
        "io.element.e2ee": {"default": False, "force_disable": True},
    }
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    preflight = await client.options("/.well-known/matrix/client")
    assert preflight.status == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.asyncio
async def test_well_known_server_not_served_without_federation(
    client: Client,
) -> None:
    resp = await client.get("/.well-known/matrix/server")
    assert resp.status == 404


@pytest.mark.asyncio
@pytest.mark.parametrize("path", ["/nope", "/assets/nope.js", "/olm", "/assets/"])
async def test_unknown_paths_are_404(client: Client, path: str) -> None:
    resp = await client.get(path)
    assert resp.status == 404
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/..%5csecret.txt",
        "/assets/..\\..\\secret.txt",
        "//secret.txt",
        "/escape/secret.txt",
        "/secret-link.txt",
        "/.built",
        "/%00/secret.txt",
    ],
)
async def test_traversal_refused(client: Client, target: str) -> None:
    status, text = await raw_get(client, target)
    assert status in (400, 404)
    assert SECRET not in text


def test_missing_dist_fails_at_start(tmp_path: Path) -> None:
    settings = WebClientSettings(
        dist_dir=tmp_path / "no-such-dist",
        homeserver_url=HOMESERVER,
        server_name="example-care.org",
        organization_name="Test",
    )
    with pytest.raises(WebClientNotBuiltError, match=r"webclient/build\.sh"):
        create_web_app(settings)


def test_dist_without_index_fails_at_start(tmp_path: Path) -> None:
    settings = WebClientSettings(
        dist_dir=tmp_path,
        homeserver_url=HOMESERVER,
        server_name="example-care.org",
        organization_name="Test",
    )
    with pytest.raises(WebClientNotBuiltError):
        create_web_app(settings)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("homeserver_url", "matrix.example.org"),
        ("homeserver_url", "ftp://matrix.example.org"),
        ("homeserver_url", "https://matrix.example.org/path"),
        ("homeserver_url", "https://user@matrix.example.org"),
        ("server_name", "bad name"),
        ("organization_name", "  "),
        ("primary_colour", "red"),
        ("primary_colour", "#fff;}body{"),
    ],
)
def test_settings_validation(tmp_path: Path, field: str, value: str) -> None:
    values: dict[str, str] = {
        "homeserver_url": HOMESERVER,
        "server_name": "example-care.org",
        "organization_name": "Test",
        "primary_colour": "#123456",
    }
    values[field] = value
    with pytest.raises(ValueError, match=field):
        WebClientSettings(dist_dir=tmp_path, **values)


def test_built_javascript_stays_within_its_budget() -> None:
    """Every script of the build (the app and the service worker), gzipped, under 350 KiB:
    what a phone downloads before the sign-in page works."""
    dist = Path(__file__).resolve().parents[2] / "webclient" / "dist"
    scripts = sorted(dist.glob("*.js"))
    if not scripts:
        pytest.skip("the web client is not built (make webclient)")
    assert {p.name for p in scripts} >= {"app.js", "sw.js"}
    total = sum(len(gzip.compress(p.read_bytes(), 9)) for p in scripts)
    assert total < 350 * 1024, f"{total / 1024:.1f} KiB gzipped"
