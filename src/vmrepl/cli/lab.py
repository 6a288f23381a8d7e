"""``vmrepl lab``: the embedded lab of simulated sites."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

OUTPUT = click.option(
    "--output",
    "-o",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one machine-readable document on stdout.",
)


def _fail(message: str) -> None:
    click.echo(f"vmrepl lab: {message}", err=True)
    sys.exit(2)


def _print_status(status: dict[str, Any], output: str, headline: str) -> None:
    if output == "json":
        click.echo(json.dumps(status, indent=2))
        return
    click.echo(headline)
    for site in status["sites"]:
        vc, zvm = site["vcenter"], site["zvm"]
        answering = "answering" if zvm.get("answering") else "not answering: no appliance yet"
        click.echo(
            f"  {site['name']:<8} vCenter https://{vc['host']}:{vc['port']}/sdk  "
            f"ZVM {zvm['url']} ({answering}; pairing port {zvm.get('pairing_port')})  "
            f"(user {vc['username']} / {zvm['username']})"
        )
    click.echo(
        "  CA file: " + (status["sites"][0]["vcenter"]["ca_file"] if status["sites"] else "-")
    )
    click.echo("  Passwords and licence keys: `vmrepl lab status --output json`.")


@click.group()
def lab() -> None:
    """The embedded lab: simulated sites on loopback (vcsim + ZVM simulator each)."""


@lab.command()
@click.option(
    "--edition",
    type=click.Choice(["remote", "local"]),
    default="remote",
    show_default=True,
    help="remote: sites source and target; local: one site.",
)
@click.option(
    "--hosts",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    help="Hypervisors per site.",
)
@click.option(
    "--vms",
    type=click.IntRange(0, 5000),
    default=2,
    show_default=True,
    help="VMs per resource pool in each site.",
)
@click.option(
    "--task-seconds",
    type=click.FloatRange(0),
    default=2.0,
    show_default=True,
    help="How long the simulated ZVM tasks run.",
)
@click.option(
    "--deployed",
    is_flag=True,
    help="Deploy each site's ZVM appliance and license it (default: bare sites, no ZVM yet).",
)
@click.option(
    "--boot-seconds",
    type=click.FloatRange(0),
    default=3.0,
    show_default=True,
    help="How long an appliance VM runs before its ZVM answers.",
)
@OUTPUT
def up(
    edition: str,
    hosts: int,
    vms: int,
    task_seconds: float,
    deployed: bool,
    boot_seconds: float,
    output: str,
) -> None:
    """Start the lab (a no-op when it already runs). Sites start bare, as a new customer's:
    each ZVM answers only once its appliance VM is deployed and has booted."""
    from vmrepl.lab import manager

    try:
        state, started = manager.up(
            manager.LabSpec(
                edition,
                hosts,
                vms,
                task_seconds,
                deployed=deployed,
                boot_seconds=boot_seconds,
            )
        )
    except manager.LabError as exc:
        _fail(str(exc))
        return
    status = manager.public_status(state)
    how = "deployed" if state.get("deployed") else "bare"
    if started:
        headline = f"Lab up ({edition}, {how}) in {state['started_in_seconds']} s:"
    else:
        headline = f"Lab already up ({state['edition']}, {how}):"
    _print_status(status, output, headline)


@lab.command()
@OUTPUT
def status(output: str) -> None:
    """Show the lab's sites and how to reach them (exit 3 when it is not up)."""
    from vmrepl.lab import manager

    state = manager.read_state()
    if not state:
        if output == "json":
            click.echo(json.dumps({"running": False, "sites": []}))
        else:
            click.echo("The lab is not up. Start it with `vmrepl lab up`.")
        sys.exit(3)
    status_doc = manager.public_status(state)
    _print_status(
        status_doc,
        output,
        f"Lab {'up' if status_doc['running'] else 'DOWN (stale)'} ({state['edition']}):",
    )
    if not status_doc["running"]:
        sys.exit(3)


@lab.command()
def down() -> None:
    """Stop every process the lab started."""
    from vmrepl.lab import manager

    stopped = manager.down()
    click.echo(
        f"Lab down ({len(stopped)} processes stopped)." if stopped else "The lab was not up."
    )


@lab.command()
@OUTPUT
def reset(output: str) -> None:
    """Stop the lab and start it again as it was (fresh inventory and state)."""
    from vmrepl.lab import manager

    state = manager.read_state()
    spec = manager.LabSpec()
    if state:
        spec = manager.LabSpec(state["edition"], **state.get("spec", {}))
    manager.down()
    try:
        state, _ = manager.up(spec)
    except manager.LabError as exc:
        _fail(str(exc))
        return
    _print_status(manager.public_status(state), output, f"Lab reset ({spec.edition}):")


@lab.command("vra-release")
@click.argument("version", required=False)
@OUTPUT
def vra_release(version: str | None, output: str) -> None:
    """Make a newer VRA VERSION available at every site (default: the next update, e.g.
    10.0.60.1310 -> 10.0.70.1310): each site then reports that version and its VRAs at the old
    one report outdated, as after a ZVM upgrade. `vmrepl upgrade` rolls them."""
    from vmrepl.lab import manager

    try:
        released = manager.vra_release(version)
    except manager.LabError as exc:
        _fail(str(exc))
        return
    if output == "json":
        click.echo(json.dumps({"released": released}, indent=2))
        return
    click.echo("VRA release available:")
    for site, info in released.items():
        click.echo(f"  {site:<8} version {info['version']} ({info['display_version']})")
