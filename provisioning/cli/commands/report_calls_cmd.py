"""`carebridge report calls`: the call log of a day, for auditors and cron jobs.

The same table the bot's `!calls` answers with (bridge/commands/calls.py).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from bridge.commands.calls import calls_table
from bridge.staff.calls.store import CallStore
from provisioning.cli.commands.report_cmd import _run, _user, date_option, format_option
from provisioning.cli.options import config_option


@click.command("calls")
@config_option
@date_option
@click.option("--user", help="Only calls this person made or received (@user:server or username).")
@format_option
def calls_command(config_path: Path, day: date | None, user: str | None, fmt: str) -> None:
    """WebRTC calls on a day: time, caller, callee, audio or video, outcome (answered,
    rejected, declined, missed, refused), talk time, who hung up and why."""
    _run(
        config_path,
        fmt,
        lambda r, server: calls_table(CallStore(r.engine), r.directory, day, _user(server, user), r.clock),
    )
