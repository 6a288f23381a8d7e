"""What the commands that read the sites directly (no playbook: ``health``, ``diagnose``,
``diagnostics``, ``exporter``) share: the inventory and vault options, as the playbook
commands have them (``vmrepl.cli.options``), and reading the inventory's sites with them. Only
click is imported at module level: ``vmrepl --help`` must stay fast."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from vmrepl.cli.options import (
    ASK_VAULT_PASSWORD,
    INVENTORY,
    LIMIT,
    OUTPUT,
    VAULT_PASSWORD_FILE,
)

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class SiteOptions:
    inventory: str | None = None
    limit: str | None = None
    vault_password_file: str | None = None
    ask_vault_password: bool = False
    output: str = "text"


def _inventory_options() -> list[Any]:
    """``-i/--inventory``, ``-l/--limit`` and the vault options, as the playbook commands
    have them (the same options)."""
    return [INVENTORY, LIMIT, VAULT_PASSWORD_FILE, ASK_VAULT_PASSWORD]


def _collected(func: F, options: list[Any]) -> F:
    @functools.wraps(func)
    def collect(**kwargs: Any) -> Any:
        given = {n: kwargs.pop(n) for n in SiteOptions.__dataclass_fields__ if n in kwargs}
        return func(sites=SiteOptions(**given), **kwargs)

    wrapped: Any = collect
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


def site_options(func: F) -> F:
    """``-i/--inventory``, ``-l/--limit``, the vault options and ``--output``, collected into
    ``sites: SiteOptions``."""
    return _collected(func, [*_inventory_options(), OUTPUT])


def inventory_options(func: F) -> F:
    """The same without ``--output``, for a command whose output is not a report (the
    exporter)."""
    return _collected(func, _inventory_options())


class ReadRefused(Exception):
    """The sites cannot be read as given (vault secret missing, bad inventory)."""


def vault_password(options: SiteOptions) -> str | None:
    """The vault password from the environment or a prompt (a file is read by Ansible)."""
    from vmrepl.runner import VAULT_PASSWORD_ENV

    if options.vault_password_file:
        return None
    if os.environ.get(VAULT_PASSWORD_ENV):
        return os.environ[VAULT_PASSWORD_ENV]
    if options.ask_vault_password:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise ReadRefused(
                "--ask-vault-password needs a terminal; unattended runs give "
                "--vault-password-file or the environment variable VMREPL_VAULT_PASSWORD."
            )
        password: str = click.prompt("Vault password", hide_input=True, err=True)
        return password
    return None


def load(options: SiteOptions, password: str | None) -> list[Any]:
    """The inventory's sites (``vmrepl.operate.sites.Site``). Raises ReadRefused."""
    from vmrepl.cli.execute import vault_refusal
    from vmrepl.cli.options import RunOptions
    from vmrepl.operate.sites import SitesError, inventory_path, load_sites

    inventory = inventory_path(options.inventory)
    if inventory and not os.path.exists(inventory):
        raise ReadRefused(f"Inventory {options.inventory} does not exist.")
    run = RunOptions(
        inventory=inventory,
        vault_password_file=options.vault_password_file,
        ask_vault_password=options.ask_vault_password,
    )
    refusal = vault_refusal(inventory, run, password)
    if refusal:
        raise ReadRefused(refusal.replace(" Nothing ran.", ""))
    try:
        return load_sites(
            inventory,
            options.limit,
            vault_password=password,
            vault_password_file=options.vault_password_file,
        )
    except SitesError as exc:
        raise ReadRefused(str(exc)) from None
