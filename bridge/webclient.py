"""Serve the Carebridge staff web client (the build in ``webclient/dist/``).

One build serves every deployment: this module generates ``config.json`` (the
homeserver, the organisation's name and colour) from :class:`WebClientSettings`,
serves ``/.well-known/matrix/client`` so Element desktop and mobile find the
homeserver from the organisation's domain, and puts security headers on every
response, including errors (45 CFR 164.312(e)(1), transmission security: the
browser may only talk to this origin and the homeserver, and the pages can be
neither framed nor sniffed into another content type).

``/.well-known/matrix/server`` is deliberately not served: Carebridge runs
without federation, so no other server is told where to reach this one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final
from urllib.parse import urlsplit

from aiohttp import web

from bridge.staff.account_api import AccountApiSettings, add_account_api

INDEX_FILE: Final = "index.html"

# Explicit types for everything the build produces; the platform's mimetypes
# table differs between machines (.js as application/javascript, no .wasm ...).
CONTENT_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".webmanifest": "application/manifest+json",
}
FALLBACK_CONTENT_TYPE: Final = "application/octet-stream"

_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_SERVER_NAME = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


class WebClientNotBuiltError(RuntimeError):
    """The web client's dist directory is missing or incomplete."""


@dataclass(frozen=True, slots=True)
class WebClientSettings:
    """What the web client needs to know about its deployment.

    ``homeserver_url`` is the public base URL of the Client-Server API (scheme,
    host and optional port, no path: the client keeps only the origin).
    ``server_name`` is the Matrix server name in user ids (``@alice:server_name``).
    """

    dist_dir: Path
    homeserver_url: str
    server_name: str
    organization_name: str
    primary_colour: str = "#03b381"
    tagline: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.homeserver_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"homeserver_url must be an http(s) URL, got {self.homeserver_url!r}")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise ValueError(f"homeserver_url must be scheme://host[:port] only, got {self.homeserver_url!r}")
        if not _SERVER_NAME.match(self.server_name):
            raise ValueError(f"server_name is not a valid Matrix server name: {self.server_name!r}")
        if not self.organization_name.strip() or len(self.organization_name) > 100:
            raise ValueError("organization_name must be 1 to 100 characters")
        if not _HEX_COLOUR.match(self.primary_colour):
            raise ValueError(f"primary_colour must look like #1a2b3c, got {self.primary_colour!r}")
        if len(self.tagline) > 200:
            raise ValueError("tagline must be at most 200 characters")

    @property
    def homeserver_origin(self) -> str:
        """``scheme://host[:port]`` of the homeserver, as the browser compares origins."""
        parts = urlsplit(self.homeserver_url)
        return f"{parts.scheme}://{parts.netloc}".lower()


SETTINGS_KEY: Final = web.AppKey("webclient_settings", WebClientSettings)
_ROOT_KEY: Final = web.AppKey("webclient_root", Path)


def client_config(settings: WebClientSettings) -> dict[str, object]:
    """The ``config.json`` the web client reads at start-up.

    ``carebridge`` is what the client reads (homeserver, branding);
    ``defaultHomeServer`` stays for anything that read the earlier client's key.
    """
    return {
        "defaultHomeServer": settings.homeserver_origin,
        "carebridge": {
            "organizationName": settings.organization_name,
            "tagline": settings.tagline,
            "primaryColour": settings.primary_colour.lower(),
            "serverName": settings.server_name,
            "homeserverUrl": settings.homeserver_origin,
            "lockHomeserver": True,
        },
    }


def web_manifest(settings: WebClientSettings) -> dict[str, object]:
    """The web app manifest (``/manifest.webmanifest``): what a phone or computer needs to
    install the staff client as an app (name, icons, start page, colours). Generated here
    because the organisation's name and colour are the deployment's, like config.json."""
    short = settings.organization_name if len(settings.organization_name) <= 12 else "Messages"
    return {
        "id": "./",
        "name": settings.organization_name,
        "short_name": short,
        "description": f"Secure messaging for {settings.organization_name} staff",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f5f7f9",
        "theme_color": "#2e2f32",
        "icons": [
            {"src": "icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
        ],
    }


def well_known_client(settings: WebClientSettings) -> dict[str, object]:
    """The body of ``/.well-known/matrix/client`` (Matrix spec, server discovery).

    ``io.element.e2ee`` tells Element Web and Desktop that end-to-end encryption is off
    here and may not be turned on (``force_disable``), so they create DMs without it
    instead of asking for it and having the Carebridge module drop it.
    """
    return {
        "m.homeserver": {"base_url": settings.homeserver_origin},
        "io.element.e2ee": {"default": False, "force_disable": True},
    }


def content_security_policy(settings: WebClientSettings, *, frame_ancestors: str = "'none'") -> str:
    """A CSP that lets the staff client work and nothing else.

    - scripts and stylesheets only from this origin: no inline script or style, no
      ``eval``, no WebAssembly (the client loads no end-to-end crypto);
    - the homeserver for the API only (``connect-src``): pictures and files are fetched
      with the access token (authenticated media) and shown through ``blob:`` URLs, so
      ``img-src``/``media-src`` need ``blob:`` and never the homeserver itself;
    - call audio and video are MediaStreams (``srcObject``), which CSP does not govern;
    - one worker: the service worker (``sw.js``, this origin), which keeps the app shell;
    - no frames, plugins, forms to elsewhere, or framing by other sites.
    """
    hs = settings.homeserver_origin
    directives = [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob:",
        "media-src 'self' blob:",
        f"connect-src 'self' {hs}",
        "worker-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        f"frame-ancestors {frame_ancestors}",
    ]
    return "; ".join(directives)


def content_type_for(path: Path) -> str:
    """The Content-Type for a file of the build, by extension."""
    return CONTENT_TYPES.get(path.suffix.lower(), FALLBACK_CONTENT_TYPE)


def _check_dist(dist_dir: Path) -> Path:
    root = dist_dir.resolve()
    if not (root / INDEX_FILE).is_file():
        raise WebClientNotBuiltError(
            f"the web client is not built: {root / INDEX_FILE} does not exist; "
            "run webclient/build.sh (needs node and npm)"
        )
    return root


def _resolve_static(root: Path, tail: str) -> Path | None:
    """Map a request path to a file inside ``root``, or None if it is not one.

    Refuses any segment that is empty, ``.``, ``..`` or hidden, backslashes and
    NUL bytes, and anything whose real path (symlinks followed) leaves ``root``.
    """
    if not tail:
        tail = INDEX_FILE
    if "\\" in tail or "\x00" in tail:
        return None
    segments = tail.split("/")
    if any(seg == "" or seg.startswith(".") for seg in segments):
        return None
    candidate = (root / PurePosixPath(*segments)).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    return candidate


async def _serve_static(request: web.Request) -> web.StreamResponse:
    root = request.app[_ROOT_KEY]
    path = _resolve_static(root, request.match_info["tail"])
    if path is None:
        raise web.HTTPNotFound(text="Not found")
    return web.FileResponse(
        path,
        headers={"Content-Type": content_type_for(path), "Cache-Control": "no-cache"},
    )


def _json_handler(
    body: dict[str, object], *, cors: bool, content_type: str = "application/json"
) -> Callable[[web.Request], Awaitable[web.Response]]:
    payload = json.dumps(body, indent=2, sort_keys=True).encode()
    headers = {"Cache-Control": "no-cache"}
    if cors:
        headers["Access-Control-Allow-Origin"] = "*"
        headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        headers["Access-Control-Allow-Headers"] = "X-Requested-With, Content-Type, Authorization"

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=payload, content_type=content_type, headers=headers)

    return handler


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    settings = request.app[SETTINGS_KEY]
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(settings)
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = (
        "camera=(self), microphone=(self), display-capture=(self), speaker-selection=(self), "
        "geolocation=(), payment=(), usb=(), interest-cohort=()"
    )


def create_web_app(
    settings: WebClientSettings, account_api: AccountApiSettings | None = None
) -> web.Application:
    """Build the aiohttp application that serves the web client (and, given
    ``account_api``, the client's ``/_carebridge/v1`` endpoints).

    Raises :class:`WebClientNotBuiltError` at once when ``settings.dist_dir``
    holds no build, rather than answering 500 to every request later.
    """
    root = _check_dist(settings.dist_dir)
    app = web.Application()
    app[SETTINGS_KEY] = settings
    app[_ROOT_KEY] = root
    app.on_response_prepare.append(_add_security_headers)
    app.router.add_get("/config.json", _json_handler(client_config(settings), cors=False))
    app.router.add_get(
        "/manifest.webmanifest",
        _json_handler(web_manifest(settings), cors=False, content_type="application/manifest+json"),
    )
    well_known = _json_handler(well_known_client(settings), cors=True)
    app.router.add_get("/.well-known/matrix/client", well_known)
    app.router.add_route("OPTIONS", "/.well-known/matrix/client", well_known)
    if account_api is not None:
        add_account_api(app, account_api)
    app.router.add_get("/{tail:.*}", _serve_static)
    return app
