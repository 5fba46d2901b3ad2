"""The `carebridge` command: set up, run and administer a Carebridge deployment."""

from __future__ import annotations

import importlib

import click

from config.errors import ConfigError
from provisioning.cli.options import fail

# Each command is imported when it runs, not all of them at every start: the archive's
# and Synapse's libraries take a second to import, and `carebridge report ...` needs none
# of them. name -> "module:attribute" under provisioning.cli.commands (then its extra
# sub-commands).
COMMANDS: dict[str, tuple[str, ...]] = {
    "archive": ("archive_cmd:archive_group",),
    "backup": ("backup_cmd:backup_command",),
    "bridge": ("bridge_cmd:bridge_command",),
    "compliance": ("compliance_cmd:compliance_group",),
    "export": ("export_cmd:export_command",),
    "init": ("init_cmd:init_command",),
    "provision": ("provision_cmd:provision_group",),
    "report": (
        "report_cmd:report_group",
        "report_calls_cmd:calls_command",
        "role_cmd:urgent_command",
    ),
    "restore": ("backup_cmd:restore_command",),
    "role": ("role_cmd:role_group",),
    "status": ("status_cmd:status_command",),
    "up": ("up_cmd:up_command",),
    "user": ("user_cmd:user_group",),
    "verify-backup": ("backup_cmd:verify_backup_command",),
}


def _load(where: str) -> click.Command:
    module, attribute = where.split(":")
    found = getattr(importlib.import_module(f"provisioning.cli.commands.{module}"), attribute)
    assert isinstance(found, click.Command), where
    return found


class CarebridgeGroup(click.Group):
    """Loads a command when it is asked for (COMMANDS); turns ConfigError anywhere in a
    command into a clean error and exit code 2."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            command, *extras = (_load(where) for where in COMMANDS[cmd_name])
            for extra in extras:
                assert isinstance(command, click.Group), cmd_name
                command.add_command(extra)
            self.add_command(command, cmd_name)
        return self.commands[cmd_name]

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(f"invalid configuration:\n{exc}")
        return None


@click.group(cls=CarebridgeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="carebridge")
def main() -> None:
    """Carebridge: HIPAA-grade secure messaging for care teams, on Matrix.

    \b
    First run:      carebridge init && carebridge up
    Day to day:     carebridge status
    Everything reads carebridge.yaml (-c/--config, default ./carebridge-data/).
    """
