"""Running the bridge process: `carebridge bridge -c carebridge.yaml` or `python -m bridge`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bridge.core.logsetup import setup_logging
from bridge.service import Bridge
from config.errors import ConfigError
from config.settings import DEFAULT_CONFIG_NAME, load_settings

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


def main(argv: list[str] | None = None) -> int:
    """`python -m bridge [-c carebridge.yaml]`: the bridge's own entry, without the CLI."""
    parser = argparse.ArgumentParser(prog="python -m bridge", description="Run the Carebridge appservice.")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path("carebridge-data") / DEFAULT_CONFIG_NAME,
        help="path to carebridge.yaml (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(run_bridge(args.config))
    except ConfigError as exc:
        print(f"error: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
