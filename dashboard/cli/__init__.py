"""The ``gridwatch`` command line: batch work beside the dashboard.

Each command is a thin layer over the Python API, in a module of its own that registers its
subcommands; user errors print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from dashboard.cli import hotspot_commands, incident_commands, load_commands, zone_commands
from dashboard.cli.errors import UserError
from geodata import LayerError, ReadError

COMMAND_MODULES = [load_commands, zone_commands, hotspot_commands, incident_commands]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``gridwatch`` command."""
    parser = argparse.ArgumentParser(
        prog="gridwatch", description="gridwatch: grids, incidents, repeat alarms, patrol zones."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        return run(args)
    except (UserError, ReadError, LayerError, ValueError, OSError) as error:
        print(f"gridwatch {args.command}: error: {error}", file=sys.stderr)
        return 2
