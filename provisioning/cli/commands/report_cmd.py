"""`carebridge report`: the compliance reports for cron jobs and auditors.

The same report code as the bot's commands; `day`/`week` with `--format csv` print the
very file `!report day|week` posts.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from bridge.compliance.reports import Reports
from bridge.core.report_table import ReportTable, to_csv, to_records
from bridge.db.engine import create_engine, migrate
from bridge.org.source import org_directory
from config.settings import load_settings
from provisioning.cli.options import config_option, fail

FORMATS = click.Choice(["table", "csv", "json"])
MAX_SPAN_DAYS = 366


def _date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _user(server_name: str, value: str | None) -> str | None:
    if value is None or value.startswith("@"):
        return value
    return f"@{value}:{server_name}"


def _emit(table: ReportTable, fmt: str) -> None:
    if fmt == "csv":
        sys.stdout.write(to_csv(table))
    elif fmt == "json":
        click.echo(
            json.dumps({"title": table.title, "rows": to_records(table), "note": table.note}, indent=2)
        )
    else:
        view = Table(title=table.title, caption=table.note or None)
        for column in table.columns:
            # A value that does not fit folds onto the next line; it is never cut short.
            view.add_column(column, overflow="fold")
        for row in table.rows:
            view.add_row(*row)
        Console().print(view)


def _run(config_path: Path, fmt: str, build: Callable[[Reports, str], Awaitable[ReportTable]]) -> None:
    if not config_path.exists():
        fail(f"{config_path} not found; create a data directory first with `carebridge init`")
    settings = load_settings(config_path)

    built: list[ReportTable] = []

    async def go() -> None:
        engine = create_engine(settings.database_url)
        try:
            await migrate(engine)
            built.append(await build(Reports(engine, org_directory(engine)), settings.server_name))
        finally:
            await engine.dispose()

    # A month of 5,000 people takes seconds: say something meanwhile (on stderr, so csv/json
    # on stdout stay clean; nothing when stderr is not a terminal).
    with Console(stderr=True).status("building the report"), _no_cycle_collection():
        # The table is handed back outside the task: on Python 3.11 asyncio.run ends by
        # looking up the SIGINT handler, whose repr holds the main task's repr and so its
        # result's: a month's table, 0.4 s of repr() thrown away.
        asyncio.run(go())
        _emit(built[0], fmt)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cyclic garbage collector off while a report is built and written: a month's
    report holds a few hundred thousand tuples and strings, none in a reference cycle,
    and the collector walked them over and over (a sixth of a month's attendance).
    Reference counting still frees everything; this is a short-lived CLI process."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


date_option = click.option(
    "--date",
    "day",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="Day in the organisation's time zone (default: today).",
)
since_option = click.option(
    "--since",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="First day of a span (organisation's time zone); with --until instead of --date.",
)
until_option = click.option(
    "--until",
    callback=_date,
    metavar="YYYY-MM-DD",
    help="The day after the span (not included; default: tomorrow, so the span ends today).",
)


def _span(day: date | None, since: date | None, until: date | None) -> tuple[date | None, date | None]:
    """(first day, last day) from --date or --since/--until (None: the report's default)."""
    if day is not None and (since is not None or until is not None):
        fail("give either --date or --since/--until, not both")
    if since is None:
        if until is not None:
            fail("--until needs --since")
        return day, day
    last = (until or date.today() + timedelta(days=1)) - timedelta(days=1)
    if last < since:
        fail(f"--until {until} is not after --since {since}")
    if (last - since).days > MAX_SPAN_DAYS:
        fail(f"a span of at most {MAX_SPAN_DAYS} days, please (run one report per year)")
    return since, last


format_option = click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="table",
    show_default=True,
    help="table for people, csv/json for machines.",
)


@click.group("report")
def report_group() -> None:
    """Compliance reports: logins, attendance, calls (times in the organisation's time zone).

    \b
    carebridge report logins  [--date D | --since D [--until D]] [--user U]
                                                      sign-ins and failed attempts
    carebridge report missing [--date D]              no sign-in by shift start + grace
    carebridge report sessions --user U [--days N]    one person's sessions
    carebridge report day|week [--date D]             attendance (what !report posts)
    carebridge report attendance --since D [--until D]   attendance for any span (a month...)
    carebridge report calls [--date D] [--user U]     the call log (what !calls answers)
    """


@report_group.command("logins")
@config_option
@date_option
@since_option
@until_option
@click.option("--user", help="Only this person (@user:server or username).")
@format_option
def logins_command(
    config_path: Path, day: date | None, since: date | None, until: date | None, user: str | None, fmt: str
) -> None:
    """Who signed in on a day (or over --since/--until), from which device and address, how
    each session ended, and every failed sign-in attempt."""
    first, last = _span(day, since, until)
    _run(config_path, fmt, lambda r, server: r.logins(first, _user(server, user), last))


@report_group.command("missing")
@config_option
@date_option
@format_option
def missing_command(config_path: Path, day: date | None, fmt: str) -> None:
    """Scheduled people who had not signed in by their shift's start + grace."""
    _run(config_path, fmt, lambda r, _server: r.missing(day))


@report_group.command("sessions")
@config_option
@click.option("--user", required=True, help="The person (@user:server or username).")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="How many days back.")
@format_option
def sessions_command(config_path: Path, user: str, days: int, fmt: str) -> None:
    """One person's sessions: device, sign-in, sign-out, duration, how it ended, by whom."""
    _run(config_path, fmt, lambda r, server: r.sessions(_user(server, user) or user, days))


@report_group.command("day")
@config_option
@date_option
@format_option
def day_command(config_path: Path, day: date | None, fmt: str) -> None:
    """Attendance for one day: each scheduled person on time, late, missing, off shift,
    stayed logged in. `--format csv` is the file `!report day` posts."""
    _run(config_path, fmt, lambda r, _server: r.day(day))


@report_group.command("week")
@config_option
@date_option
@format_option
def week_command(config_path: Path, day: date | None, fmt: str) -> None:
    """Attendance for the Monday-Sunday week holding --date. `--format csv` is the file
    `!report week` posts."""
    _run(config_path, fmt, lambda r, _server: r.week(day))


@report_group.command("attendance")
@config_option
@click.option("--since", callback=_date, required=True, metavar="YYYY-MM-DD", help="First day of the span.")
@until_option
@format_option
def attendance_command(config_path: Path, since: date, until: date | None, fmt: str) -> None:
    """Attendance over any span of days (a month: --since 2025-03-01 --until 2025-04-01):
    each scheduled person on each day, as `day` and `week` report it."""
    first, last = _span(None, since, until)
    assert first is not None and last is not None
    _run(config_path, fmt, lambda r, _server: r.attendance(first, last))
