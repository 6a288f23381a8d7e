"""``vmrepl health``: a Monitoring Plugin (Nagios, Icinga, Checkmk, Zabbix run it as it is).

A direct read of every site's ZVM (a fixed number of list calls each, no ansible-playbook
start), judged by ``module_utils/health.py`` as the health playbook judges it. Exit 0 OK,
1 WARNING, 2 CRITICAL, 3 UNKNOWN (no connection, a refused login, a timeout, bad input); the
first line is the status, perfdata after ``|``; one line per site and problem follows."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from vmrepl.cli.direct import SiteOptions, site_options

#: option → (threshold name, help)
THRESHOLD_OPTIONS = {
    "rpo_warning": "RPO as a multiple of each VPG's configured RPO",
    "rpo_critical": "RPO as a multiple of each VPG's configured RPO",
    "history_warning": "journal history as a fraction of each VPG's configured history",
    "history_critical": "journal history as a fraction of each VPG's configured history",
    "journal_warning": "journal fill of a VM, % of its hard limit",
    "journal_critical": "journal fill of a VM, % of its hard limit",
    "licence_warning": "days until the licence expires",
    "licence_critical": "days until the licence expires",
}
DEFAULTS = {
    "rpo_warning": "1",
    "rpo_critical": "2",
    "history_warning": "0:",
    "history_critical": "0:",
    "journal_warning": "75",
    "journal_critical": "90",
    "licence_warning": "30:",
    "licence_critical": "7:",
}
#: order of the overall state: a definite CRITICAL outranks a site that could not be read
SEVERITY = {"OK": 0, "WARNING": 1, "UNKNOWN": 2, "CRITICAL": 3}
EXIT = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def _threshold_options(func: Any) -> Any:
    for name in reversed(list(THRESHOLD_OPTIONS)):
        kind = name.rsplit("_", 1)[1]
        func = click.option(
            f"--{name.replace('_', '-')}",
            name,
            metavar="RANGE",
            default=DEFAULTS[name],
            show_default=True,
            help=f"{kind.capitalize()} range: {THRESHOLD_OPTIONS[name]}.",
        )(func)
    return func


@click.command(
    epilog="\b\nRANGE is a Monitoring Plugins range expression [@][start:][end]: 10 alerts\n"
    "outside 0..10, 10: below 10, ~:10 above 10, @10:20 inside 10..20.\n\n"
    "\b\nExit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (no connection, a refused login,\n"
    "a timeout, bad input)."
)
@site_options
@click.option(
    "--timeout",
    "-t",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds for the whole check; past them it exits UNKNOWN naming the stage reached.",
)
@_threshold_options
def health(sites: SiteOptions, timeout: float, **thresholds: str) -> None:
    """Check the replication health of every site (a Monitoring Plugin).

    CRITICAL when a site is unpaired (remote edition), a VPG misses its SLA, an error alert is
    on or a threshold's critical range is hit; WARNING for a warning range, VRAs not installed
    or warning alerts. Perfdata: each VPG's RPO and journal history, the journal fill, the
    licence's expiry and VMs. Read-only, a fixed number of list calls per ZVM."""
    started = time.monotonic()
    doc = check(sites, timeout, thresholds)
    doc["duration_seconds"] = round(time.monotonic() - started, 3)
    if sites.output == "json":
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        click.echo(render(doc))
    sys.exit(doc["exit_code"])


def _unknown(doc: dict[str, Any], reason: str) -> dict[str, Any]:
    return {**doc, "status": "UNKNOWN", "exit_code": 3, "reason": reason}


def check(sites: SiteOptions, timeout: float, thresholds: dict[str, str]) -> dict[str, Any]:
    """The check's result document: status, exit_code, reason, health by site, perfdata."""
    from vmrepl import __version__
    from vmrepl.cli.direct import ReadRefused, load, vault_password
    from vmrepl.operate.sites import Deadline, prepare_ansible, run_within

    prepare_ansible()
    doc: dict[str, Any] = {
        "vmrepl": __version__,
        "command": "health",
        "inventory": sites.inventory or "the embedded lab (inventories/lab)",
        "limit": sites.limit,
        "timeout": timeout,
        "thresholds": dict(thresholds),
        "health": {},
        "perfdata": "",
    }
    from ansible_collections.vmrepl.core.plugins.module_utils.health import Thresholds

    try:
        limits = Thresholds.of(thresholds)
    except ValueError as exc:
        return _unknown(doc, str(exc))
    try:
        password = vault_password(sites)
    except ReadRefused as exc:
        return _unknown(doc, str(exc))
    started = time.monotonic()
    try:
        loaded = run_within(timeout, {"inventory": lambda stage: load(sites, password)})
    except Deadline as exc:
        return _unknown(doc, f"{exc} (reading the inventory)")
    found = loaded["inventory"]
    if isinstance(found, ReadRefused):
        return _unknown(doc, str(found))
    if isinstance(found, BaseException):
        return _unknown(doc, f"the inventory could not be read: {found}")
    remaining = max(0.1, timeout - (time.monotonic() - started))
    work = {site.name: _reader(site, limits, remaining) for site in found}
    try:
        results = run_within(remaining, work)
    except Deadline as exc:
        stages = ", ".join(f"{site} {stage}" for site, stage in exc.stages.items())
        return _unknown(doc, f"timed out after {timeout:g} s: {stages}")
    return judge(doc, results)


def _reader(site: Any, limits: Any, timeout: float) -> Any:
    def read(stage: Any) -> dict[str, Any]:
        from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import ZvmClient
        from ansible_collections.vmrepl.core.plugins.module_utils.health import (
            read_site,
            site_health,
        )

        with ZvmClient(site.zvm_params(timeout=timeout)) as zvm:
            stage(f"logging in to {zvm.where}")
            zvm.login()
            parts = read_site(zvm, stage)
            calls = zvm.calls
        result = site_health(
            **parts, paired=site.edition == "remote", thresholds=limits, name=site.name
        )
        result["zvm_calls"] = calls
        return result

    return read


def judge(doc: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """The overall state from each site's health, or the error that kept it unread."""
    from ansible_collections.vmrepl.core.plugins.module_utils.health import perf_line

    lines: list[str] = []
    state = "OK"
    perf: list[dict[str, Any]] = []
    for name, result in sorted(results.items()):
        if isinstance(result, BaseException):
            site_state = "UNKNOWN"
            doc["health"][name] = {"state": "UNKNOWN", "error": _error_text(result)}
            lines.append(f"{name}: {_error_text(result)}")
        else:
            site_state = result["state"]
            doc["health"][name] = result
            perf += result["perfdata"]
            lines += [f"{name}: {p}" for p in result["problems"]]
            lines += [f"{name}: {w}" for w in result["warnings"]]
        if SEVERITY[site_state] > SEVERITY[state]:
            state = site_state
    vpgs = sum(len(r.get("vpgs", [])) for r in doc["health"].values())
    reason = "; ".join(lines) if lines else f"{len(results)} sites healthy, {vpgs} VPGs in SLA"
    doc.update(status=state, exit_code=EXIT[state], reason=reason, perfdata=perf_line(perf))
    return doc


def _error_text(error: BaseException) -> str:
    from vmrepl.operate.sites import SitesError

    text = str(error) or type(error).__name__
    hint = getattr(error, "hint", None)
    if isinstance(error, SitesError):
        return text
    return f"cannot read the ZVM: {text}" + (f" ({hint})" if hint else "")


def render(doc: dict[str, Any]) -> str:
    """Monitoring Plugins output: ``VMREPL STATE - summary | perfdata``, then one line per site
    and per problem."""
    first = f"VMREPL {doc['status']} - {doc['reason'].splitlines()[0] if doc['reason'] else ''}"
    if doc.get("perfdata"):
        first += f" | {doc['perfdata']}"
    lines = [first]
    for name, site in sorted(doc.get("health", {}).items()):
        if "error" in site:
            lines.append(f"{name}: UNKNOWN {site['error']}")
            continue
        peers = ", ".join(f"{p['site']} {p['status']}" for p in site.get("peers", [])) or "none"
        vpgs = ", ".join(f"{v['name']} {v['status']}" for v in site.get("vpgs", [])) or "none"
        zvm = f"{site.get('zvm') or '-'} {site.get('version') or ''}".strip()
        lines.append(
            f"{name}: {site['state']} ZVM {zvm}; peers {peers}; "
            f"VRAs {site['vras_installed']}/{site['vras']}; VPGs {vpgs}; "
            f"alerts {len(site.get('alerts', []))}"
        )
        for alert in site.get("alerts", []):
            lines.append(f"{name}: alert {alert['level']} {alert['help']}: {alert['description']}")
    return "\n".join(lines)
