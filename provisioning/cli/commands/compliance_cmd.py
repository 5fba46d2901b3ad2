"""`carebridge compliance report`: the HIPAA safeguards, each with a live check now.

The same report as the bot's `!compliance`. 45 CFR 164.308(a)(1)(ii)(A) risk analysis;
164.316(b)(1) documentation.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click
from rich.console import Console

from bridge.archive.reader import head_seq
from bridge.compliance.safeguards.model import Result
from bridge.compliance.safeguards.render import to_html, to_json, to_table
from bridge.compliance.safeguards.report import Report
from bridge.compliance.safeguards.service import build_report
from bridge.core.files import write_private
from bridge.core.registration import load_registration
from bridge.db.engine import create_engine, migrate
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.cli.progress import Steps, steps


@click.group("compliance")
def compliance_group() -> None:
    """Evidence for auditors: each HIPAA safeguard, what Carebridge does, and a live check.

    \b
    carebridge compliance report                      table in the terminal
    carebridge compliance report --format json        for machines (schema_version 1)
    carebridge compliance report --format html --out compliance.html   printable page
    """


async def _build(settings: Settings, bar: Steps) -> Report:
    registration = load_registration(settings.path(settings.bridge.registration))
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        verified = bar.later("verifying the archive (rows)", await head_seq(engine))
        return await build_report(settings, engine, registration.as_token, progress=verified)
    finally:
        await engine.dispose()


@compliance_group.command("report")
@config_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "html"]),
    default="table",
    show_default=True,
    help="table for people, json for machines, html for a self-contained printable page.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the report to this file (mode 0600) instead of standard output.",
)
def report_command(config_path: Path, fmt: str, out: Path | None) -> None:
    """Run every safeguard's live check against this deployment now: configuration files in
    force, the compliance database, `archive verify` and Synapse's admin API (Synapse must be
    running). One row per safeguard: result pass/warn/fail with the reason, when it was last
    true, and the automated test that proves the mechanism. No PHI is printed.

    Exit code 0 when no row fails (warnings allowed), 1 when a row fails, 2 on bad input.
    """
    if not config_path.exists():
        fail(f"{config_path} not found; create a data directory first with `carebridge init`")
    settings = load_settings(config_path)
    with steps() as bar:
        bar.step("reading the configuration, the database and Synapse")
        report = asyncio.run(_build(settings, bar))
    if fmt == "table":
        if out is not None:
            console = Console(record=True, width=160)
            console.print(to_table(report))
            write_private(out, console.export_text())
        else:
            Console().print(to_table(report))
    else:
        text = to_json(report) if fmt == "json" else to_html(report)
        if out is not None:
            write_private(out, text)
        else:
            sys.stdout.write(text)
    if out is not None:
        click.echo(f"{report.summary()} Written to {out}.")
    sys.exit(1 if report.overall is Result.FAIL else 0)
