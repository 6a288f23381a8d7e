"""``vmrepl backup-readiness``: the VM recovery (backup) service's readiness as the playbook
reported it (``set_stats`` ``vmrepl.backup``: per site what ``backup_readiness_info`` computed
with ``module_utils/backup.py``), as a table, JSON, or a monitoring plugin's line and exit code.
It computes nothing itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vmrepl.cli.options import RunOptions, run_options

if TYPE_CHECKING:
    from vmrepl.results import RunSummary

#: Monitoring-plugin states and exit codes.
PLUGIN_CODES = {"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}


def extract(summary: RunSummary) -> dict[str, Any]:
    """``{"backup": {site: report}, "readiness": OK|WARNING|CRITICAL|UNKNOWN, "perfdata"}``."""
    reports = summary.reported.get("backup")
    reports = dict(reports) if isinstance(reports, dict) else {}
    return {
        "backup": reports,
        "readiness": readiness(summary, reports),
        "perfdata": perfdata(reports),
    }


def readiness(summary: RunSummary, reports: dict[str, Any]) -> str:
    """The worst state of the sites; UNKNOWN when a site's report is missing (the run did not
    get to read it) unless another is CRITICAL already."""
    states = [str(r.get("status", "UNKNOWN")) for r in reports.values()]
    hosts = set(summary.hosts) or set(reports)
    if not reports or hosts - set(reports):
        states.append("UNKNOWN")
    if "CRITICAL" in states:
        return "CRITICAL"
    return max(states, key=lambda s: PLUGIN_CODES.get(s, 3))


def perfdata(reports: dict[str, Any]) -> str:
    """The sites' performance data; labels get the site's name in front when there are
    several (``'source:ds_free_LocalDS_0'=8%;15:;10:;0;100``)."""
    several = len(reports) > 1
    items = []
    for site, report in sorted(reports.items()):
        for item in report.get("perfdata_items") or []:
            items.append(f"'{site}:{item[1:]}" if several and item.startswith("'") else item)
    return " ".join(items)


def plugin_line(doc: dict[str, Any], summary: RunSummary) -> tuple[str, int]:
    """The monitoring plugin's output (``BACKUP CRITICAL - ... | perfdata``, then one line per
    problem) and its exit code."""
    state = doc.get("readiness") or "UNKNOWN"
    reports = doc.get("backup") or {}
    if reports:
        text = "; ".join(f"{site}: {r.get('summary', '')}" for site, r in sorted(reports.items()))
    else:
        text = f"no readiness report ({summary.status}): {summary.reason or 'nothing was read'}"
    missing = sorted(set(summary.hosts) - set(reports)) if reports else []
    if missing:
        text += f"; not read: {', '.join(missing)} ({summary.reason or summary.status})"
    lines = [f"BACKUP {state} - {text}" + (f" | {doc['perfdata']}" if doc.get("perfdata") else "")]
    for site, report in sorted(reports.items()):
        for problem in report.get("problems", []):
            lines.append(f"{problem['level']} {site} {problem['object']}: {problem['message']}")
    return "\n".join(lines), PLUGIN_CODES.get(state, 3)


def finish_plugin(doc: dict[str, Any], summary: RunSummary) -> int:
    text, code = plugin_line(doc, summary)
    click.echo(text)
    return code


def render(console: Any, doc: dict[str, Any]) -> None:
    from rich.table import Table

    colour = {"OK": "green", "WARNING": "yellow", "CRITICAL": "red", "UNKNOWN": "magenta"}

    def state(text: str) -> str:
        return f"[{colour.get(text, 'white')}]{text}[/]"

    for site, report in sorted((doc.get("backup") or {}).items()):
        console.print(
            f"Backup readiness of {site}: {state(report['status'])} - {report['summary']}"
        )
        hosts = Table(title=f"{site}: proxies", title_justify="left")
        for column in ("host", "cluster", "in service", "proxy", "status"):
            hosts.add_column(column)
        for host in report.get("hosts", []):
            hosts.add_row(
                host["name"],
                host.get("cluster") or "-",
                "yes" if host["in_service"] else f"no: {host.get('reason', '')}",
                ", ".join(host["proxies"]) or "-",
                state(host["status"]) if host["in_service"] else "skipped",
            )
        console.print(hosts)
        stores = Table(title=f"{site}: datastores", title_justify="left")
        for column in ("datastore", "free %", "after replication %", "journal+scratch GB"):
            stores.add_column(
                column, justify="right" if "%" in column or "GB" in column else "left"
            )
        stores.add_column("status")
        for ds in report.get("datastores", []):
            rep = None
            if ds.get("replication_counted"):
                rep = (ds["journal_used_bytes"] or 0) + (ds["scratch_used_bytes"] or 0)
            stores.add_row(
                ds["name"],
                f"{ds['free_percent']:.1f}",
                f"{ds['free_after_replication_percent']:.1f}",
                f"{rep / 1e9:.1f}" if rep is not None else "not counted",
                state(ds["status"]),
            )
        console.print(stores)
        vms = Table(title=f"{site}: VMs", title_justify="left")
        for column in ("VM", "host", "last backup", "age h", "status", "problems"):
            vms.add_column(column)
        for vm in report.get("vms", []):
            age = vm.get("backup_age_hours")
            vms.add_row(
                vm["name"],
                vm.get("host") or "-",
                vm.get("last_backup") or "never",
                f"{age:.1f}" if isinstance(age, int | float) else "-",
                state(vm["status"]),
                "; ".join(vm.get("problems", [])) or "-",
            )
        console.print(vms)
        for host, reason in sorted((report.get("hosts_out_of_service") or {}).items()):
            console.print(f"skipped {site} {host}: {reason} (reported, not judged)")
        if report.get("deployed"):
            deployed = ", ".join(f"{h} ({n})" for h, n in sorted(report["deployed"].items()))
            console.print(f"deployed {site}: {deployed}")
        elif report.get("planned"):
            planned = ", ".join(f"{h} ({n})" for h, n in sorted(report["planned"].items()))
            console.print(f"would deploy {site}: {planned}")
        for item in report.get("advice", []):
            console.print(
                f"advice {site} {item['vm']}: {'; '.join(item['reasons'])} - {item['advice']}"
            )
        console.print(f"replication {site}: journals and scratch {report.get('replication', '')}")


@click.command("backup-readiness")
@click.option(
    "--deploy",
    is_flag=True,
    help="Deploy the missing backup proxies first (backup_proxy_deploy); with --check, show "
    "the plan.",
)
@click.option(
    "--plugin",
    "plugin",
    is_flag=True,
    help="Behave as a monitoring plugin: one status line with perfdata on stdout, exit 0 OK, "
    "1 WARNING, 2 CRITICAL, 3 UNKNOWN (read-only; no --deploy, no --output json).",
)
@run_options
def backup_readiness(run: RunOptions, deploy: bool, plugin: bool) -> None:
    """The VM recovery (backup) service's readiness (backup_readiness.yml): a proxy on every
    customer hypervisor in service, datastore free space (15% / 10%) with replication's
    journals and scratch counted, the 24-hour backup RPO per VM, snapshot hygiene.

    Read-only unless --deploy. Fails (exit 1) when a site is CRITICAL; with --plugin the exit
    code is the monitoring plugin's."""
    import sys

    from vmrepl.cli.execute import run_command

    values: dict[str, Any] = {}
    if plugin:
        # A monitoring plugin's bad arguments are UNKNOWN (3), not the refusal's 2 (CRITICAL).
        wrong = ""
        if deploy:
            wrong = "--plugin is read-only: a monitoring check deploys nothing; drop --deploy."
        elif run.output == "json":
            wrong = "--plugin prints a monitoring plugin's line; drop --output json."
        elif run.check:
            wrong = "--plugin reads only; drop --check."
        if wrong:
            click.echo(f"BACKUP UNKNOWN - {wrong}")
            sys.exit(PLUGIN_CODES["UNKNOWN"])
        run.quiet = True
    if deploy:
        values["backup_proxy_deploy"] = True
    run_command(
        "backup-readiness",
        "backup_readiness.yml",
        run,
        values,
        extension=extract,
        renderer=render,
        finisher=finish_plugin if plugin else None,
    )
