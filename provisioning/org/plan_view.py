"""Showing plans and apply results to administrators (rich) and machines (JSON)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from provisioning.org.admin_room import AdminRoomResult
from provisioning.org.apply import ApplyResult
from provisioning.org.delivery import DeliveryReport
from provisioning.org.plan import Plan

_STYLE = {
    "create": "green",
    "reactivate": "green",
    "join": "green",
    "update": "yellow",
    "rights": "yellow",
    "record": "cyan",
    "write": "cyan",
    "deactivate": "red",
    "close": "red",
    "remove": "red",
}


def plan_table(plan: Plan, title: str = "Provisioning plan") -> Table:
    """One row per step: what, on what, details."""
    table = Table(title=title, show_lines=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("action")
    table.add_column("target")
    table.add_column("details")
    for i, action in enumerate(plan.actions, 1):
        verb = action.kind.split(".")[-1]
        style = _STYLE.get(verb, "")
        table.add_row(
            str(i), f"[{style}]{action.kind}[/]" if style else action.kind, action.target, action.details()
        )
    return table


def print_plan(console: Console, plan: Plan) -> None:
    """The plan as a table with a one-line summary (or "No changes")."""
    if not plan.changed:
        console.print("[bold green]No changes.[/] The homeserver already matches the org file.")
    else:
        console.print(plan_table(plan))
        summary = ", ".join(f"{n} {kind}" for kind, n in plan.summary().items())
        console.print(f"[bold]{len(plan.actions)} change(s):[/] {summary}")
    for note in plan.notes:
        console.print(f"[dim]note: {note}[/]")


def print_summary(console: Console, plan: Plan) -> None:
    """One line: "No changes", or how many steps of each kind."""
    if not plan.changed:
        console.print("No changes: the homeserver already matches the org file.")
        return
    summary = ", ".join(f"{n} {kind}" for kind, n in plan.summary().items())
    console.print(f"{len(plan.actions)} change(s): {summary}")


def delivery_json(report: DeliveryReport) -> dict[str, Any]:
    """Where the passwords went, without the passwords."""
    return {
        "emailed": report.emailed,
        "password_files": [str(p) for _, p in report.files],
        "mail_failures": [{"user_id": u, "error": e} for u, e in report.mail_failures],
    }


def print_delivery(console: Console, report: DeliveryReport, each_file: bool = True) -> None:
    """Tell the administrator where initial passwords went (never the passwords)."""
    if report.emailed:
        console.print(f"Initial passwords mailed to {len(report.emailed)} user(s).")
    if report.mail_failures:
        console.print(
            f"[yellow]{len(report.mail_failures)} mail(s) could not be sent; those passwords were "
            "written to files instead.[/]"
        )
    if report.files:
        folder = report.files[0][1].parent
        console.print(
            f"[bold]{len(report.files)} initial password(s) written to {folder}/[/] "
            "(one 0600 file per user; hand each over, then delete it)" + (":" if each_file else ".")
        )
        for user_id, path in report.files if each_file else []:
            console.print(f"  {user_id}: {path}", soft_wrap=True)


def result_json(plan: Plan, result: ApplyResult, admins: AdminRoomResult | None = None) -> str:
    """The apply outcome for machines."""
    return json.dumps(
        {
            "plan": plan.to_json(),
            "applied": result.done,
            "homeserver_writes": result.writes,
            "failures": [{"kind": k, "target": t, "error": e} for k, t, e in result.failures],
            "policy_file_written": result.policy_written,
            **delivery_json(result.delivery),
            "admin_room": {
                "room_id": admins.room_id if admins else None,
                "joined": admins.joined if admins else [],
                "removed": admins.removed if admins else [],
            },
        },
        indent=2,
    )
