"""Running the bridge process: `carebridge bridge -c carebridge.yaml` or `python -m bridge`."""

from __future__ import annotations

import asyncio
import logging
import signal
from pathlib import Path

from bridge.logsetup import setup_logging
from bridge.service import Bridge
from config.settings import load_settings

log = logging.getLogger(__name__)


async def run_bridge(config_path: Path) -> int:
    """Start the bridge and run until SIGTERM/SIGINT; returns the exit code."""
    settings = load_settings(config_path)
    setup_logging(settings.logging)
    bridge = Bridge.from_settings(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        starting = asyncio.create_task(bridge.start())
        waiting = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({starting, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if starting in done:
            starting.result()
            await stop.wait()
        else:
            starting.cancel()
    finally:
        log.info("bridge stopping")
        await bridge.stop()
    return 0
