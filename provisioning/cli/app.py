"""The `carebridge` command: set up, run and administer a Carebridge deployment."""

from __future__ import annotations

import click

from config.errors import ConfigError
from provisioning.cli.commands.archive_cmd import archive_group
from provisioning.cli.commands.backup_cmd import backup_command, restore_command, verify_backup_command
from provisioning.cli.commands.bridge_cmd import bridge_command
from provisioning.cli.commands.compliance_cmd import compliance_group
from provisioning.cli.commands.export_cmd import export_command
from provisioning.cli.commands.init_cmd import init_command
from provisioning.cli.commands.provision_cmd import provision_group
from provisioning.cli.commands.report_calls_cmd import calls_command
from provisioning.cli.commands.report_cmd import report_group
from provisioning.cli.commands.role_cmd import role_group
from provisioning.cli.commands.status_cmd import status_command
from provisioning.cli.commands.up_cmd import up_command
from provisioning.cli.commands.user_cmd import user_group
from provisioning.cli.options import fail


class CarebridgeGroup(click.Group):
    """Turns ConfigError anywhere in a command into a clean error and exit code 2."""

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


main.add_command(init_command)
main.add_command(up_command)
main.add_command(status_command)
main.add_command(bridge_command)
main.add_command(report_group)
report_group.add_command(calls_command)
main.add_command(backup_command)
main.add_command(restore_command)
main.add_command(verify_backup_command)
main.add_command(archive_group)
main.add_command(export_command)
main.add_command(provision_group)
main.add_command(user_group)
main.add_command(compliance_group)
main.add_command(role_group)
