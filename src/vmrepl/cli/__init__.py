"""The ``vmrepl`` command. Subcommands import what they need when they run, so that
``vmrepl --help`` stays fast."""

from __future__ import annotations

import click

from vmrepl import __version__
from vmrepl.cli.lab import lab

EXIT_CODES = """\b
Exit codes:
  0  success
  1  failed (a task or an operation failed)
  2  refused: bad input, preflight or edition rules (nothing was changed)
  130 interrupted"""


@click.group(epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vmrepl")
def cli() -> None:
    """Automation for a Zerto-powered VM replication service on VMware vSphere."""


cli.add_command(lab)


def main() -> None:
    cli()
