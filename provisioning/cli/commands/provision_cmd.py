"""`carebridge provision check|plan|apply`: make the homeserver match org.yaml."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path

import click
from mautrix.errors import MatrixRequestError
from rich.console import Console
from rich.progress import Progress, TaskID

from bridge.core.matrix_errors import SynapseUnavailable
from config.org import OrgFile
from config.settings import Settings, load_settings
from provisioning.cli.options import config_option, fail
from provisioning.cli.progress import bar
from provisioning.org.actions import Action
from provisioning.org.admin_room import AdminRoomResult
from provisioning.org.apply import Applier, ApplyError, ApplyResult, connections_for, default_concurrency
from provisioning.org.org_in_force import applied_value, conflict_warning, conflicting_file, record_applied
from provisioning.org.plan import Plan
from provisioning.org.plan_view import print_delivery, print_plan, print_summary, result_json
from provisioning.org.session import ProvisionError, compute_plan, load_org_file, open_session, sync_admins

org_argument = click.argument(
    "org_file", required=False, type=click.Path(path_type=Path, dir_okay=False, exists=True)
)
format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table for people, json for scripts.",
)


@click.group("provision")
def provision_group() -> None:
    """Make the homeserver match an organisation file (org.yaml): accounts, channels,
    memberships and rights. See config/org.example.yaml for the format.

    \b
    carebridge provision check ORG.yaml   validate only (no server needed)
    carebridge provision plan  ORG.yaml   show what would change; writes nothing
    carebridge provision apply ORG.yaml   make it so (a second apply changes nothing)

    ORG.yaml defaults to `org_file:` from carebridge.yaml. An invalid file is reported as
    file:line:column: key: problem and nothing is changed (exit 2).
    """


@provision_group.command("check")
@config_option
@org_argument
def check_command(config_path: Path, org_file: Path | None) -> None:
    """Validate an org file without contacting the homeserver."""
    settings = load_settings(config_path)
    try:
        path, org = load_org_file(settings, org_file)
    except ProvisionError as exc:
        fail(str(exc))
    click.echo(
        f"{path}: valid ({len(org.users)} users, {len(org.groups)} groups, {len(org.channels)} channels)"
    )


@provision_group.command("plan")
@config_option
@org_argument
@format_option
def plan_command(config_path: Path, org_file: Path | None, fmt: str) -> None:
    """Show the changes `apply` would make: users to create / update / deactivate,
    channels to create / update / close, memberships and rights. Writes nothing."""
    settings = load_settings(config_path)
    try:
        _, org = load_org_file(settings, org_file)
        plan = asyncio.run(_plan(settings, org))
    except (ProvisionError, MatrixRequestError, SynapseUnavailable) as exc:
        fail(str(exc), code=1)
    if fmt == "json":
        click.echo(json.dumps(plan.to_json(), indent=2))
    else:
        print_plan(Console(), plan)


async def _plan(settings: Settings, org: OrgFile) -> Plan:
    async with open_session(settings) as session:
        return await compute_plan(session, org)


@provision_group.command("apply")
@config_option
@org_argument
@format_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Accounts created at once (joins use twice as many rooms at once). "
    "Default: 2 per CPU core, between 4 and 16.",
)
@click.option("--yes", is_flag=True, help="Apply a file other than org_file: without asking.")
def apply_command(
    config_path: Path, org_file: Path | None, fmt: str, concurrency: int | None, yes: bool
) -> None:
    """Apply the org file: create and update accounts (initial passwords are mailed, or
    written to 0600 files without SMTP), deactivate accounts no longer listed (never
    erased), create channel rooms with their rights, join members, close removed channels
    (read-only, history kept), and write policy.json for the Synapse module.

    Idempotent: run it again and it reports "No changes" without writing anything.
    """
    settings = load_settings(config_path)
    try:
        path, org = load_org_file(settings, org_file)
    except ProvisionError as exc:
        fail(str(exc))
    configured = conflicting_file(settings, org_file)
    if configured is not None and not yes:
        click.echo("warning: " + conflict_warning(path, configured), err=True)
        if not click.confirm(f"Apply {path} anyway?", default=False, err=True):
            fail("nothing applied (use --yes to apply without asking)", code=1)
    code = asyncio.run(apply_org(settings, org, fmt=fmt, concurrency=concurrency, path=path))
    sys.exit(code)


PARTS = {"channel": "channels", "user": "accounts", "member": "memberships"}


def part_bars(progress: Progress, plan: Plan) -> Callable[[Action], None]:
    """One bar per part of the plan (channels, accounts, memberships, the rest), advanced
    as each step finishes; returns the Applier's `advance` callback."""
    totals: dict[str, int] = {}
    for action in plan.actions:
        part = PARTS.get(action.kind.split(".")[0], "directory and policy")
        totals[part] = totals.get(part, 0) + 1
    tasks: dict[str, TaskID] = {part: progress.add_task(part, total=n) for part, n in totals.items()}

    def advance(action: Action) -> None:
        progress.advance(tasks[PARTS.get(action.kind.split(".")[0], "directory and policy")])

    return advance


async def apply_org(
    settings: Settings,
    org: OrgFile,
    fmt: str = "table",
    concurrency: int | None = None,
    path: Path | None = None,
) -> int:
    """Plan and apply with a progress bar; returns the exit code (0 ok, 1 failures).

    fmt: "table" (plan table, then results), "summary" (one line per part, for `up`) or
    "json" (one JSON document on stdout).
    """
    out = Console()
    err = Console(stderr=True)
    concurrency = concurrency or default_concurrency()
    try:
        async with open_session(settings, concurrency=connections_for(concurrency)) as session:
            plan = await compute_plan(session, org)
            if fmt == "table":
                print_plan(out, plan)
            elif fmt == "summary":
                print_summary(out, plan)
            if not plan.changed:
                admins = await sync_admins(session)
                if path is not None:
                    await record_applied(session.directory, applied_value(path))
                if fmt == "json":
                    click.echo(result_json(plan, ApplyResult(), admins))
                else:
                    out.print(admins.describe())
                return 0
            with bar(err) as progress:
                applier = Applier(
                    plan,
                    session.client,
                    session.directory,
                    settings,
                    advance=part_bars(progress, plan),
                    concurrency=concurrency,
                )
                try:
                    result = await applier.run()
                except ApplyError as exc:
                    result = exc.result
            admins = await sync_admins(session) if not result.failures else AdminRoomResult()
            if path is not None and not result.failures:
                await record_applied(session.directory, applied_value(path))
    except (ProvisionError, SynapseUnavailable, MatrixRequestError) as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    if fmt == "json":
        click.echo(result_json(plan, result, admins))
    else:
        out.print(
            f"Applied {result.done} of {len(plan.actions)} change(s) "
            f"with {result.writes} homeserver write(s)."
        )
        print_delivery(out, result.delivery)
        if not result.failures:
            out.print(admins.describe())
        for kind, target, error in result.failures:
            out.print(f"[red]failed:[/] {kind} {target}: {error}")
        if result.failures:
            out.print("Run `carebridge provision apply` again to retry what failed.")
    return 1 if result.failures else 0
