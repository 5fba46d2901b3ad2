"""`carebridge` loads only the command it runs: a report does not pay for importing the
archive's cryptography, Synapse's clients or the bridge (a second at every start)."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from provisioning.cli.app import COMMANDS, main

PROBE = """
import sys
from provisioning.cli.app import main
try:
    main(["report", "attendance", "--help"])
except SystemExit:
    pass
heavy = [m for m in ("bridge.archive.chain_key", "provisioning.cli.commands.archive_cmd",
                     "provisioning.cli.commands.up_cmd", "nio") if m in sys.modules]
print("loaded:", heavy)
"""


def test_a_report_imports_no_other_command() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    assert "Attendance over any span of days" in done.stdout
    assert done.stdout.strip().endswith("loaded: []"), done.stdout


def test_every_command_is_listed_and_loads() -> None:
    answer = CliRunner().invoke(main, ["--help"])
    assert answer.exit_code == 0, answer.output
    for name in COMMANDS:
        assert f"  {name} " in answer.output, name
        loaded = CliRunner().invoke(main, [name, "--help"])
        assert loaded.exit_code == 0, (name, loaded.output)
    calls = CliRunner().invoke(main, ["report", "calls", "--help"])
    assert calls.exit_code == 0 and "--config" in calls.output, calls.output


TREE = """
import importlib, pkgutil, sys
import click
from provisioning.cli.app import main
import provisioning.cli.commands as package

def tree(command, path=()):
    names = {" ".join(path)}
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            names |= tree(command.get_command(ctx, name), (*path, name))
    return names

lazy = tree(main)
for module in pkgutil.iter_modules(package.__path__):
    importlib.import_module(f"provisioning.cli.commands.{module.name}")
print(sorted(tree(main) - lazy))
"""


def test_lazy_loading_reaches_every_sub_command() -> None:
    # A sub-command that registers itself on another module's group (as `report urgent`
    # once did from role_cmd) vanished when only that group's module was loaded.
    done = subprocess.run([sys.executable, "-c", TREE], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]", f"reachable only after importing every module: {done.stdout}"


def test_an_unknown_command_is_a_usage_error() -> None:
    answer = CliRunner().invoke(main, ["nosuch"])
    assert answer.exit_code == 2 and "No such command" in answer.output
