"""The bridge's public listener serves the built web client and .well-known."""

from __future__ import annotations

import aiohttp

from tests.harness.stack import Stack


async def test_stack_serves_web_client_and_well_known(stack: Stack) -> None:
    base = f"http://{stack.s.web.host}:{stack.s.web.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/html")
            assert resp.headers["Referrer-Policy"] == "no-referrer"
            assert "Content-Security-Policy" in resp.headers
        async with session.get(f"{base}/config.json") as resp:
            config = await resp.json()
            assert config["defaultHomeServer"] == stack.hs_url
        async with session.get(f"{base}/.well-known/matrix/client") as resp:
            assert (await resp.json())["m.homeserver"]["base_url"].rstrip("/") == stack.hs_url
