"""The ``vmrepl`` command. Subcommands import what they need when they run, so that
``vmrepl --help`` stays fast."""

from __future__ import annotations

import click

from vmrepl import __version__
from vmrepl.cli.commands import PLAYBOOK_COMMANDS
from vmrepl.cli.diagnose import diagnose as _diagnose
from vmrepl.cli.diagnostics import diagnostics as _diagnostics
from vmrepl.cli.exporter import exporter
from vmrepl.cli.lab import lab
from vmrepl.cli.size import size

EXIT_CODES = """\b
Exit codes:
  0    success
  1    failed (a task or an operation failed, a site unreachable)
  2    refused: bad input, preflight or edition rules (nothing was changed)
  3    incomplete: all that could be done was done; what is left is named (run again)
  130  interrupted (Ctrl-C or SIGTERM; the run was cancelled)

\b
Secrets come from the inventory's vault (--vault-password-file or VMREPL_VAULT_PASSWORD_FILE,
VMREPL_VAULT_PASSWORD, or --ask-vault-password on a terminal) or the environment, never from
the command line. Artifacts of each run: $VMREPL_ARTIFACT_DIR, else
~/.local/state/vmrepl/artifacts. `vmrepl COMMAND --help` for each command's options."""


class _Group(click.Group):
    """Commands in the order they were added (the order of the service's tasks)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


@click.group(
    cls=_Group, epilog=EXIT_CODES, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(__version__, prog_name="vmrepl")
def cli() -> None:
    """Automation for a Zerto-powered VM replication service on VMware vSphere."""


for _command in PLAYBOOK_COMMANDS:
    cli.add_command(_command)
cli.add_command(_diagnose)
cli.add_command(_diagnostics)
cli.add_command(exporter)
cli.add_command(size)
cli.add_command(lab)


def main() -> None:
    cli()
