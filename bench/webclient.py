"""Benchmark: the staff web client against a baseline, in the same run on the same Synapse:
Hydrogen 0.3.1 (the client it replaced, the default), or with `--against REF` the
Carebridge web client as it was at a git commit (before/after a change).

- **Sign-in to painted list**: from clicking "Log in" to the first entry of the room list
  on screen, in a fresh browser context each time (headless Chromium), median of
  `--rounds`, the two clients alternating so neither gets a warmer machine.
- **JavaScript (gzip -9)**: every script and WebAssembly file the page fetched during that
  sign-in, compressed the way a server would send it.

Hydrogen is built from git commit 4f77418 (its last commit in this repository) into a
temporary directory (`npm ci` + its own build.mjs), and served as it was, without the
new client's CSP (which rightly forbids the WebAssembly Hydrogen's olm needs). A
Carebridge baseline (`--against REF`) is built the same way from `webclient/` at REF and
served by the bridge's own web app (same CSP, same `/_carebridge/v1` endpoints, same
database) on another port. Prints both figures and the ratio new / baseline; the goal is
a time ratio <= 1 and under 350 KiB of JavaScript. The service worker is fetched on
the first visit (a fresh context each time), so its script counts in the JavaScript.

    .venv/bin/python bench/webclient.py [--rounds 5] [--rooms 8] [--against REF]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web
from nio import RoomCreateResponse
from playwright.async_api import Browser, Response

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bridge.db.engine import create_engine
from bridge.staff.account_api import AccountApiSettings
from bridge.webclient import WebClientSettings, create_web_app
from tests.harness.browser import launch
from tests.harness.stack import Stack, free_port

REPO = Path(__file__).resolve().parent.parent
HYDROGEN_COMMIT = "4f77418"


def build_at(work: Path, ref: str) -> Path:
    """webclient/ as of a git commit, installed from its lock file and built."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", ref, "webclient"],
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(work, filter="data")
    root = work / "webclient"
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=root, check=True)
    subprocess.run(["node", "build.mjs"], cwd=root, check=True, capture_output=True)
    return root / "dist"


async def serve_hydrogen(dist: Path, stack: Stack) -> tuple[web.AppRunner, str]:
    config = {"defaultHomeServer": stack.hs_url}

    async def config_json(request: web.Request) -> web.Response:
        return web.json_response(config)

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(dist / "index.html")

    app = web.Application()
    app.router.add_get("/config.json", config_json)
    app.router.add_get("/", index)
    app.router.add_static("/", dist)
    return await _serve(app)


async def serve_carebridge(dist: Path, stack: Stack) -> tuple[web.AppRunner, str]:
    """An older Carebridge build, served exactly as the bridge serves the current one."""
    settings = WebClientSettings(
        dist_dir=dist,
        homeserver_url=stack.s.synapse.public_url,
        server_name=stack.server_name,
        organization_name=stack.s.organization_name,
    )
    api = AccountApiSettings(synapse_url=stack.s.synapse.url, engine=create_engine(stack.s.database_url))
    return await _serve(create_web_app(settings, api))


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


CAREBRIDGE = ("#username", "#password", ".cb-login button[type=submit]", ".cb-rooms .cb-room")
HYDROGEN = ("#username", "#password", ".PasswordLoginView button[type=submit]", ".RoomList li")


async def one_sign_in(
    browser: Browser, url: str, selectors: tuple[str, str, str, str], user: str, password: str
) -> tuple[float, int]:
    """Seconds from "Log in" to the painted list, and gzip bytes of the JS/WASM fetched."""
    user_field, password_field, submit, painted = selectors
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    bodies: list[bytes] = []

    async def keep(response: Response) -> None:
        path = urlsplit(response.url).path
        if urlsplit(response.url).netloc == urlsplit(url).netloc and path.endswith((".js", ".wasm")):
            try:
                bodies.append(await response.body())
            except Exception:  # a body the browser already dropped
                pass

    page.on("response", lambda r: asyncio.ensure_future(keep(r)))
    try:
        await page.goto(url)
        await page.locator(user_field).wait_for(state="visible", timeout=60_000)
        await page.locator(user_field).fill(user)
        await page.locator(password_field).fill(password)
        started = time.perf_counter()
        await page.locator(submit).click()
        await page.locator(painted).first.wait_for(state="visible", timeout=60_000)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.5)
        return elapsed, sum(len(gzip.compress(b, 9)) for b in bodies)
    finally:
        await context.close()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=8, help="conversations the person is in")
    parser.add_argument(
        "--against",
        metavar="REF",
        default=None,
        help="compare with the Carebridge web client at this git commit instead of Hydrogen",
    )
    args = parser.parse_args()
    baseline = f"carebridge@{args.against}" if args.against else "hydrogen"
    subprocess.run([str(REPO / "webclient" / "build.sh")], check=True, capture_output=True)
    with tempfile.TemporaryDirectory() as tmp:
        print("building", baseline, "...", flush=True)
        baseline_dist = build_at(Path(tmp), args.against or HYDROGEN_COMMIT)
        stack = Stack(root=Path(tmp) / "stack")
        stack.init()
        try:
            stack.start_synapse()
            stack.start_bridge()
            user_id, password = await stack.create_user("bench", "Bench Nurse")
            peer_id, _ = await stack.create_user("peer", "Bench Peer")
            nio = await stack.login(user_id, password)
            for i in range(args.rooms):
                created = await nio.room_create(is_direct=True, invite=[peer_id], name=f"Bench {i}")
                assert isinstance(created, RoomCreateResponse), created
                await nio.room_send(
                    created.room_id, "m.room.message", {"msgtype": "m.text", "body": f"hello {i}"}
                )
            await nio.close()
            serve = serve_carebridge if args.against else serve_hydrogen
            runner, baseline_url = await serve(baseline_dist, stack)
            clients = {
                "carebridge": (f"http://{stack.s.web.host}:{stack.s.web.port}/", CAREBRIDGE),
                baseline: (baseline_url, CAREBRIDGE if args.against else HYDROGEN),
            }
            times: dict[str, list[float]] = {name: [] for name in clients}
            sizes: dict[str, int] = {}
            try:
                async with launch() as browser:
                    for url, selectors in clients.values():  # warm-up: first loads fill caches
                        await one_sign_in(browser, url, selectors, "bench", password)
                    for i in range(args.rounds):
                        order = list(clients) if i % 2 == 0 else list(reversed(clients))
                        for name in order:
                            url, selectors = clients[name]
                            elapsed, size = await one_sign_in(browser, url, selectors, "bench", password)
                            times[name].append(elapsed)
                            sizes[name] = size
            finally:
                await runner.cleanup()
        finally:
            stack.stop()
    median = {name: statistics.median(values) for name, values in times.items()}
    report = {
        "rounds": args.rounds,
        "rooms": args.rooms,
        "baseline": baseline,
        "sign_in_to_list_s": {name: round(v, 3) for name, v in median.items()},
        "sign_in_to_list_all_s": {name: [round(v, 3) for v in values] for name, values in times.items()},
        "javascript_gzip_bytes": sizes,
        "ratio_time_new_over_baseline": round(median["carebridge"] / median[baseline], 3),
        "ratio_js_new_over_baseline": round(sizes["carebridge"] / sizes[baseline], 3),
    }
    print(f"{'':<28}{'Carebridge':>12}{baseline[:20]:>22}{'ratio':>8}")
    print(
        f"{'sign-in to painted list (s)':<28}{median['carebridge']:>12.3f}{median[baseline]:>22.3f}"
        f"{report['ratio_time_new_over_baseline']:>8}"
    )
    print(
        f"{'JavaScript, gzip (KiB)':<28}{sizes['carebridge'] / 1024:>12.1f}{sizes[baseline] / 1024:>22.1f}"
        f"{report['ratio_js_new_over_baseline']:>8}"
    )
    print(json.dumps(report))


if __name__ == "__main__":
    asyncio.run(main())
