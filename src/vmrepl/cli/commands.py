"""The commands that run a playbook: each maps to one entry point of the project and its
options to the variables documented in the roles' ``meta/argument_specs.yml``."""

from __future__ import annotations

from typing import Any

import click

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


@click.command()
@run_options
def health(run: RunOptions) -> None:
    """Read every site's health: pairing, VRAs, VPGs (RPO, journal history), alerts (health.yml).

    Read-only. Fails (exit 1) when a site is unpaired, a VPG misses its SLA or an error alert
    is on."""
    from vmrepl.cli import health as health_view
    from vmrepl.cli.execute import run_command

    run_command(
        "health", "health.yml", run, extension=health_view.extract, renderer=health_view.render
    )


# The recovery operations: customer initiated, so each needs the customer's request reference
# (ticket), written to the audit log; those that move production need a confirmation too.
# name → (playbook, summary, variables: option → playbook variable, confirmation variable)
RECOVERY: dict[str, tuple[str, str, dict[str, str], str | None]] = {
    "vpg": (
        "vpg.yml",
        "Create or change a customised VPG (vpg.yml).",
        {"vpg": "vpg_name", "request_ref": "request_ref"},
        None,
    ),
    "test-failover": (
        "failover_test.yml",
        "Run a failover test in the isolated test network, then stop it (failover_test.yml).",
        {"vpg": "failover_test_vpgs", "request_ref": "request_ref"},
        None,
    ),
    "recover": (
        "local_recovery.yml",
        "Recover VMs within the site, local edition (local_recovery.yml).",
        {"vpg": "local_recovery_vpgs", "request_ref": "request_ref"},
        "local_recovery_confirm",
    ),
    "failover": (
        "failover.yml",
        "Fail over to the target site, remote edition (failover.yml).",
        {"vpg": "failover_vpgs", "request_ref": "request_ref"},
        "failover_confirm",
    ),
    "move": (
        "move.yml",
        "Move the VMs to the target site in a planned migration (move.yml).",
        {"vpg": "move_vpgs", "request_ref": "request_ref"},
        "move_confirm",
    ),
    "failback": (
        "failback.yml",
        "Fail back from the target site to the source site (failback.yml).",
        {"vpg": "failback_vpgs", "request_ref": "request_ref"},
        "failback_confirm",
    ),
}


def _recovery_command(name: str) -> click.Command:
    playbook, summary, variables, confirm = RECOVERY[name]

    def command(run: RunOptions, vpg: tuple[str, ...], request_ref: str | None, **kw: Any) -> None:
        from vmrepl.cli.execute import run_command

        values: dict[str, Any] = {}
        if vpg:
            values[variables["vpg"]] = list(vpg) if variables["vpg"].endswith("s") else vpg[0]
        if request_ref:
            values[variables["request_ref"]] = request_ref
        if confirm and kw.get("yes"):
            values[confirm] = True
        run_command(name, playbook, run, values)

    command.__doc__ = summary + (
        "\n\nCustomer initiated: give the customer's request reference (--request-ref or env "
        "VMREPL_REQUEST_REF); it is written to the audit log."
        + ("  Changes production: confirm with --yes." if confirm else "")
    )
    decorated: Any = run_options(command)
    if confirm:
        decorated = click.option(
            "--yes",
            is_flag=True,
            help=f"Confirm the operation ({confirm}); without it the playbook refuses.",
        )(decorated)
    decorated = click.option(
        "--request-ref",
        envvar="VMREPL_REQUEST_REF",
        metavar="TICKET",
        help="The customer's request reference [env VMREPL_REQUEST_REF].",
    )(decorated)
    decorated = click.option(
        "--vpg",
        multiple=True,
        metavar="NAME",
        help=f"VPG to act on ({variables['vpg']}); repeatable. Default: the playbook's.",
    )(decorated)
    return click.command(name)(decorated)


PLAYBOOK_COMMANDS = [
    deploy,
    pair,
    *(_recovery_command(name) for name in RECOVERY),
    health,
]
