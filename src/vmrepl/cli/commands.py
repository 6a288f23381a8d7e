"""The commands that run a playbook: each maps to one entry point of the project and its
options to the variables documented in the roles' ``meta/argument_specs.yml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vmrepl.cli.backup import backup_readiness
from vmrepl.cli.health import health
from vmrepl.cli.options import RunOptions, run_options


def _set(variables: dict[str, Any], **values: Any) -> dict[str, Any]:
    """``variables`` plus the values the user gave (None: not given, the role's default)."""
    return variables | {k: v for k, v in values.items() if v is not None and v != ()}


@click.command()
@click.option(
    "--edition",
    type=click.Choice(["remote", "local"]),
    default="remote",
    show_default=True,
    help="remote: deploy_remote.yml (a site pair); local: deploy_local.yml (one site).",
)
@run_options
def deploy(run: RunOptions, edition: str) -> None:
    """Deploy the service: preflight, ZVM, VRAs, network, pairing, default VPG, verify.

    Preflight checks everything before anything changes; a second run changes nothing."""
    from vmrepl.cli.execute import run_command

    run_command("deploy", f"deploy_{edition}.yml", run)


@click.command()
@click.option(
    "--port", type=click.IntRange(1, 65535), help="The target's pairing port (pairing_port)."
)
@click.option(
    "--host", "peer_host", help="The target's address as the source ZVM reaches it (pairing_host)."
)
@click.option(
    "--timeout", type=click.IntRange(1), help="Seconds to wait for the pairing (pairing_timeout)."
)
@run_options
def pair(run: RunOptions, port: int | None, peer_host: str | None, timeout: int | None) -> None:
    """Pair the source site with the target site (pair_sites.yml).

    A no-op when they are paired; safe to run from two pipelines at once."""
    from vmrepl.cli.execute import run_command

    variables = _set({}, pairing_port=port, pairing_host=peer_host, pairing_timeout=timeout)
    run_command("pair", "pair_sites.yml", run, variables)


# The recovery operations (role vmrepl.core.recovery, meta/argument_specs.yml): customer
# initiated, so every run needs the customer's request reference (recovery_request_ref), which
# the audit log records; a failover and a local recovery in place need recovery_confirm too.
# Each run writes a report (JSON, JUnit XML, HTML) into VMREPL_REPORT_DIR.
# command -> (playbook, summary, needs a confirmation, the options it has)
RECOVERY: dict[str, tuple[str, str, bool, tuple[str, ...]]] = {
    "test-failover": (
        "failover_test.yml",
        "Failover test of VPGs in an isolated network, then stop it (failover_test.yml).",
        False,
        ("checkpoint", "test_network"),
    ),
    "recover": (
        "local_recovery.yml",
        "Recover VPGs within the site, local edition (local_recovery.yml).",
        True,
        ("checkpoint", "commit", "local_mode", "force"),
    ),
    "failover": (
        "failover.yml",
        "Unplanned failover of VPGs to the target site, remote edition (failover.yml).",
        True,
        ("checkpoint", "commit", "shutdown", "reverse", "force"),
    ),
    "move": (
        "move.yml",
        "Planned move of VPGs to the target site, remote edition (move.yml).",
        False,
        ("commit", "reverse", "force"),
    ),
    "failback": (
        "failback.yml",
        "Fail back reverse-protected VPGs to the source site, remote edition (failback.yml).",
        False,
        ("checkpoint", "commit", "force"),
    ),
}

_OPTIONS: dict[str, list[Any]] = {
    "checkpoint": [
        click.option(
            "--checkpoint-tag",
            help="Recover to the latest checkpoint with this tag (recovery_checkpoint_tag).",
        ),
        click.option(
            "--point-in-time",
            metavar="ISO8601",
            help="Recover to the latest checkpoint at or before this time "
            "(recovery_point_in_time).",
        ),
    ],
    "test_network": [
        click.option(
            "--test-network",
            help="The isolated network of the test, created when absent (recovery_test_network; "
            "default vmrepl-bubble).",
        )
    ],
    "commit": [
        click.option(
            "--commit-policy",
            type=click.Choice(["commit", "rollback", "none"]),
            help="After the validation: commit, rollback (a rehearsal) or none "
            "(recovery_commit_policy; default commit).",
        )
    ],
    "local_mode": [
        click.option(
            "--mode",
            "local_mode",
            type=click.Choice(["in_place", "new_vms"]),
            help="in_place replaces the VMs (needs --yes); new_vms recovers copies beside them "
            "(recovery_local_mode; default in_place).",
        )
    ],
    "shutdown": [
        click.option(
            "--shutdown-policy",
            type=click.Choice(["none", "shutdown", "force_shutdown"]),
            help="What happens to the protected VMs (recovery_shutdown_policy; default shutdown).",
        )
    ],
    "reverse": [
        click.option(
            "--reverse-protection/--no-reverse-protection",
            default=None,
            help="Protect the recovered VMs back to the original site "
            "(recovery_reverse_protection; default on).",
        )
    ],
    "force": [
        click.option(
            "--force",
            is_flag=True,
            default=None,
            help="Act on VPGs that do not meet their SLA, e.g. the protected site is down "
            "(recovery_force).",
        )
    ],
}

_VARIABLES = {
    "checkpoint_tag": "recovery_checkpoint_tag",
    "point_in_time": "recovery_point_in_time",
    "test_network": "recovery_test_network",
    "commit_policy": "recovery_commit_policy",
    "local_mode": "recovery_local_mode",
    "shutdown_policy": "recovery_shutdown_policy",
    "reverse_protection": "recovery_reverse_protection",
    "force": "recovery_force",
}


def _interactive() -> bool:
    """Someone at a terminal can answer a question."""
    import sys

    return sys.stdin.isatty()


def _recovery_command(name: str) -> click.Command:
    playbook, summary, confirm, option_sets = RECOVERY[name]

    def command(run: RunOptions, vpg: tuple[str, ...], request_ref: str | None, **kw: Any) -> None:
        from vmrepl.cli import recovery_view
        from vmrepl.cli.execute import run_command

        values = _set(
            {},
            recovery_vpgs=list(vpg) or None,
            recovery_request_ref=request_ref,
            **{_VARIABLES[k]: v for k, v in kw.items() if k in _VARIABLES},
        )
        if kw.get("force") is False:
            values.pop("recovery_force", None)
        if confirm:
            yes = kw.get("yes", False)
            needs = name != "recover" or kw.get("local_mode") in (None, "in_place")
            if needs and not yes and not run.check and _interactive():
                yes = click.confirm(
                    f"{summary.split(' (')[0].split(',')[0]}: "
                    f"{', '.join(vpg) or 'the VPGs of the inventory'} "
                    f"(request {request_ref or '-'}). Go ahead?",
                    err=True,
                )
            if yes:
                values["recovery_confirm"] = True
        run_command(
            name,
            playbook,
            run,
            values,
            extension=recovery_view.extract,
            renderer=recovery_view.render,
        )

    command.__doc__ = (
        summary
        + "\n\nCustomer initiated: the customer's request reference is required (--request-ref or"
        " env VMREPL_REQUEST_REF) and goes to the audit log. The run writes a report (JSON,"
        " JUnit XML, HTML) into the report directory."
        + (" It changes production: confirm with --yes (on a terminal it asks)." if confirm else "")
    )
    decorated: Any = run_options(command)
    for key in reversed(option_sets):
        for option in reversed(_OPTIONS[key]):
            decorated = option(decorated)
    if confirm:
        decorated = click.option(
            "--yes",
            "-y",
            is_flag=True,
            help="Confirm the operation (recovery_confirm); without it the run is refused.",
        )(decorated)
    decorated = click.option(
        "--request-ref",
        envvar="VMREPL_REQUEST_REF",
        metavar="TICKET",
        help="The customer's request reference (recovery_request_ref) [env VMREPL_REQUEST_REF].",
    )(decorated)
    decorated = click.option(
        "--vpg",
        multiple=True,
        metavar="NAME",
        help="A VPG to act on (recovery_vpgs); repeatable.",
    )(decorated)
    return click.command(name)(decorated)


def _definitions(path: Path) -> list[dict[str, Any]]:
    """The customer's VPGs from a YAML or JSON file: a list, or ``vpg_definitions: [...]``."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise click.BadParameter(f"{path}: {exc}", param_hint="'--definitions'") from None
    if isinstance(data, dict):
        data = data.get("vpg_definitions")
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise click.BadParameter(
            f"{path}: give a list of VPGs (each a mapping with a name and its VMs), or "
            "vpg_definitions: [...]",
            param_hint="'--definitions'",
        )
    from vmrepl.cli.options import secrets_in

    found = secrets_in(data, "vpg_definitions")
    if found:
        raise click.BadParameter(
            f"{path}: {', '.join(found)} holds a secret (a password in a URL or a secret-looking "
            "key); VPG definitions hold none.",
            param_hint="'--definitions'",
        )
    return data


@click.command()
@click.option(
    "--request-ref",
    envvar="VMREPL_REQUEST_REF",
    metavar="TICKET",
    help="The customer's request reference (vpg_request_ref) [env VMREPL_REQUEST_REF].",
)
@click.option(
    "--definitions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    metavar="FILE",
    help="YAML/JSON list of the VPGs the customer asked for (vpg_definitions): name, VMs "
    "(vms, vm_folder, vm_tag, ...), journal_history_hours, recovery placement, networks, "
    "state.",
)
@run_options
def vpg(run: RunOptions, request_ref: str | None, definitions: Path | None) -> None:
    """Create, change or delete customised VPGs and their networking (vpg.yml).

    Customer initiated: the customer's request reference is required and goes to the audit
    log. The VPGs come from --definitions (or vpg_definitions in the inventory)."""
    from vmrepl.cli.execute import run_command

    values = _set(
        {},
        vpg_request_ref=request_ref,
        vpg_definitions=_definitions(definitions) if definitions else None,
    )
    run_command("vpg", "vpg.yml", run, values)


@click.command()
@click.option(
    "--request-ref",
    envvar="VMREPL_REQUEST_REF",
    metavar="TICKET",
    help="The change's reference (upgrade_request_ref) [env VMREPL_REQUEST_REF]; required.",
)
@click.option(
    "--batch-size",
    metavar="N|cluster",
    help="Hosts per batch, or 'cluster' for one batch per cluster (upgrade_batch_size; default 1).",
)
@click.option(
    "--sla-timeout",
    type=click.IntRange(1),
    help="Seconds for the VPGs to meet their SLA again after a batch (upgrade_sla_timeout).",
)
@run_options
def upgrade(
    run: RunOptions, request_ref: str | None, batch_size: str | None, sla_timeout: int | None
) -> None:
    """Rolling upgrade of the outdated VRAs, site by site, batch by batch (upgrade.yml).

    A tagged checkpoint (pre-upgrade-TICKET) first, then each batch upgraded and the VPGs back
    in SLA before the next. The first failure stops the roll and says where; a re-run
    continues; --check prints the batches. The change's reference is required and goes to the
    audit log."""
    from vmrepl.cli.execute import run_command

    values = _set(
        {},
        upgrade_request_ref=request_ref,
        upgrade_batch_size=batch_size,
        upgrade_sla_timeout=sla_timeout,
    )
    run_command("upgrade", "upgrade.yml", run, values)


@click.command("host-maintenance")
@click.argument("host")
@click.option(
    "--enter/--exit",
    "enter",
    default=None,
    help="Into maintenance mode (protected VMs and recovery moved away first), or back out "
    "(the VRA powered on, the VPGs verified in SLA) (host_maintenance_state).",
)
@click.option(
    "--site",
    metavar="SITE",
    help="The site whose vCenter has the host, e.g. source or target (host_maintenance_site); "
    "not needed with one site.",
)
@click.option(
    "--request-ref",
    envvar="VMREPL_REQUEST_REF",
    metavar="TICKET",
    help="The change's reference (host_maintenance_request_ref) [env VMREPL_REQUEST_REF].",
)
@run_options
def host_maintenance(
    run: RunOptions, host: str, enter: bool | None, site: str | None, request_ref: str | None
) -> None:
    """Take HOST into maintenance mode or back, keeping its VPGs protected
    (host_maintenance.yml).

    Enter: the protected VMs vMotioned to hosts with a VRA, the VMs recovering to the host's
    VRA given another recovery VRA, then maintenance mode. Exit: out of maintenance mode, the
    VRA powered on, the VPGs verified back in SLA. The change's reference is required and goes
    to the audit log."""
    from vmrepl.cli.execute import run_command

    if enter is None:
        raise click.UsageError("give --enter or --exit (host_maintenance_state).")
    values = _set(
        {"host_maintenance_host": host, "host_maintenance_state": "enter" if enter else "exit"},
        host_maintenance_site=site,
        host_maintenance_request_ref=request_ref,
    )
    run_command("host-maintenance", "host_maintenance.yml", run, values)


PLAYBOOK_COMMANDS = [
    deploy,
    pair,
    vpg,
    *(_recovery_command(name) for name in RECOVERY),
    health,
    backup_readiness,
    upgrade,
    host_maintenance,
]
