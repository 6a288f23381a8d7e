"""``vmrepl diagnostics --archive FILE``: one ``.tar.gz`` of what the vendor's support asks
for, every secret redacted (``vmrepl.operate.diagnostics``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vmrepl.cli.diagnose import parse_duration
from vmrepl.cli.direct import SiteOptions, site_options


@click.command()
@click.option(
    "--archive",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="The archive to write (.tar.gz).",
)
@site_options
@click.option(
    "--since",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="The window of alerts, events and tasks (30m, 6h, 2d).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60,
    show_default=True,
    help="Seconds per request.",
)
def diagnostics(archive: Path, sites: SiteOptions, since: str, timeout: float) -> None:
    """Write one archive for the vendor's support: each ZVM's site, peers, VPGs, VMs, VRAs,
    alerts, events and tasks of the window, licence (without its key), datastores; vCenter's
    view of the VRA VMs and hosts; a version matrix; our recent runs; the diagnose result.

    Every secret is redacted, and the archive is searched for each before it is written.
    Exit 0 written, 1 not written, 2 bad input."""
    if not archive.name.endswith((".tar.gz", ".tgz")):
        raise click.BadParameter(f"{archive}: give a .tar.gz file name.", param_hint="'--archive'")
    seconds = parse_duration(since)
    from vmrepl.cli.direct import ReadRefused, load, vault_password
    from vmrepl.operate.sites import prepare_ansible

    prepare_ansible()
    try:
        loaded = load(sites, vault_password(sites))
    except ReadRefused as exc:
        click.echo(f"vmrepl diagnostics: {exc}", err=True)
        sys.exit(2)
    from vmrepl.operate import diagnostics as dg

    try:
        result = dg.build(loaded, archive.expanduser().resolve(), dg.window(seconds), timeout)
    except (dg.SecretLeft, dg.SitesTimeout) as exc:
        click.echo(f"vmrepl diagnostics: {exc}", err=True)
        sys.exit(1)
    if sites.output == "json":
        result = {k: v for k, v in result.items() if k != "diagnosis"}
        click.echo(json.dumps({"command": "diagnostics", **result}, indent=2))
        return
    diagnosis = result["diagnosis"]
    state = (
        "nothing wrong"
        if diagnosis["healthy"]
        else (f"{len(diagnosis['incidents'])} incident(s), {diagnosis['severity_text']}")
    )
    click.echo(
        f"Wrote {result['archive']} ({len(result['files'])} files, sites "
        f"{', '.join(result['sites'])}; {state})."
    )
