"""``vmrepl diagnose``: what is wrong at a site pair now, since when, the probable cause, the
next step and the vendor severity to suggest (``vmrepl.operate.diagnose``); ``--explain ID``
prints what the knowledge says of an alert's help identifier or an alert rule."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from vmrepl.cli.direct import SiteOptions, site_options


def parse_duration(text: str) -> float:
    """``90s``, ``30m``, ``6h``, ``2d`` (or plain seconds) → seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    value = text.strip().lower()
    factor = units.get(value[-1:])
    number = value[:-1] if factor else value
    try:
        seconds = float(number) * (factor or 1)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: give a duration such as 30m, 6h or 2d.", param_hint="'--since'"
        ) from None
    if seconds <= 0:
        raise click.BadParameter(
            f"{text!r}: the duration must be positive.", param_hint="'--since'"
        )
    return seconds


def read_pair(sites: SiteOptions, since_seconds: float | None, timeout: float) -> tuple[Any, Any]:
    """(the inventory's sites, site → what diagnose read or ``{"error": text}``). Raises
    ReadRefused for bad input."""
    from datetime import UTC, datetime, timedelta

    from vmrepl.cli.direct import load, vault_password
    from vmrepl.operate.sites import Deadline, prepare_ansible, run_within

    prepare_ansible()
    from vmrepl.operate import diagnose as dx

    password = vault_password(sites)
    loaded = load(sites, password)
    since = datetime.now(UTC) - timedelta(seconds=since_seconds) if since_seconds else None

    def reader(site: Any) -> Any:
        def read(stage: Any) -> dict[str, Any]:
            from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
                ZvmClient,
            )

            with ZvmClient(site.zvm_params(timeout=timeout)) as zvm:
                stage(f"logging in to {zvm.where}")
                zvm.login()
                return dx.read(zvm, since, stage)

        return read

    try:
        results = run_within(timeout, {s.name: reader(s) for s in loaded})
    except Deadline as exc:
        results = {
            s.name: {"error": f"timed out: {exc.stages.get(s.name, 'done')}"} for s in loaded
        }
    reads = {
        name: ({"error": _error(value)} if isinstance(value, BaseException) else value)
        for name, value in results.items()
    }
    return loaded, reads


def _error(error: BaseException) -> str:
    hint = getattr(error, "hint", None)
    return (str(error) or type(error).__name__) + (f" ({hint})" if hint else "")


@click.command()
@site_options
@click.option(
    "--explain",
    metavar="ID",
    help="Print what is known of an alert help identifier (VPG0010) or alert rule "
    "(VmreplVpgNotMeetingSla): meaning, causes, next steps, severity. Reads no site.",
)
@click.option(
    "--since",
    metavar="DURATION",
    default="24h",
    show_default=True,
    help="The window of events and tasks read (30m, 6h, 2d).",
)
@click.option(
    "--timeout", type=click.FloatRange(min=1), default=60, show_default=True, help="Seconds."
)
def diagnose(sites: SiteOptions, explain: str | None, since: str, timeout: float) -> None:
    """What is wrong at the site pair now: each incident with since when, the probable cause
    (alerts correlated with events and failed tasks), the next step and the suggested vendor
    severity.

    Exit 0 when nothing is wrong, 1 when something is, 2 for bad input."""
    if explain:
        from vmrepl.operate import diagnose as dx

        text = dx.explain(explain)
        if text is None:
            known = ", ".join(sorted(dx.knowledge()["entries"]))
            click.echo(f"vmrepl diagnose: no entry {explain!r}; known: {known}", err=True)
            sys.exit(2)
        if sites.output == "json":
            click.echo(json.dumps({"id": explain, **(dx.entry(explain) or {})}, indent=2))
        else:
            click.echo(text)
        return
    from vmrepl.cli.direct import ReadRefused

    seconds = parse_duration(since)
    try:
        loaded, reads = read_pair(sites, seconds, timeout)
    except ReadRefused as exc:
        click.echo(f"vmrepl diagnose: {exc}", err=True)
        sys.exit(2)
    from vmrepl.operate import diagnose as dx

    doc = dx.diagnose(reads, paired={s.name: s.edition == "remote" for s in loaded})
    if sites.output == "json":
        click.echo(json.dumps({"command": "diagnose", **doc}, indent=2, default=str))
    else:
        click.echo(dx.render(doc))
    sys.exit(0 if doc["healthy"] else 1)
