"""``vmrepl size``: journals, the WAN link and the recovery cluster from the customer's VM write
rates - measured in vCenter (``--from-vcenter``: size.yml against the inventory) or given in a
CSV/JSON file (RATES). The figures come from :mod:`vmrepl.sizing`; this module renders them."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from vmrepl.cli.options import RunOptions, run_options


def _parameters(
    history_hours: float | None, journal_compression: str | None, wan_compression: str | None
) -> dict[str, Any]:
    given = {
        "history_hours": history_hours,
        "journal_compression": None if journal_compression is None else int(journal_compression),
        "wan_compression": None if wan_compression is None else int(wan_compression),
    }
    return {k: v for k, v in given.items() if v is not None}


def _sizing_of(doc: dict[str, Any]) -> dict[str, Any]:
    """The one protected site's report of a run's document (``sizing: {site: report}``)."""
    reports = doc.get("sizing") or {}
    return next(iter(reports.values())) if len(reports) == 1 else {}


def _write_html(html_file: Path | None, report: dict[str, Any]) -> None:
    if html_file and report:
        from vmrepl.sizing.report import to_html

        html_file.write_text(to_html(report), encoding="utf-8")


@click.command()
@click.argument(
    "rates", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "--from-vcenter",
    "source",
    flag_value="vcenter",
    help="Measure: the protected VMs' disk.write.average history in the protected site's "
    "vCenter (size.yml with the inventory), and the recovery cluster's capacity.",
)
@click.option(
    "--from-zvm",
    "source",
    flag_value="zvm",
    help="Measure a running customer: the protected site's ZVM counters (change rate, WAN), "
    "resources report (journal used) and RPOs, beside the plan, with a warning on drift.",
)
@click.option(
    "--history-hours",
    type=click.FloatRange(1, 720),
    help="Journal history [default: the default VPG's, else 168 h: 7 days].",
)
@click.option(
    "--window-hours",
    type=click.FloatRange(24, 8760),
    help="--from-vcenter: how much history to read [default 24 h].",
)
@click.option(
    "--journal-compression",
    type=click.Choice(["0", "50", "70"]),
    help="Expected compression of the journal, in % [default 0].",
)
@click.option(
    "--wan-compression",
    type=click.Choice(["0", "50", "70"]),
    help="WAN compression scenario the link is sized on, in % [default 0].",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write an HTML report with charts to this file.",
)
@run_options
def size(
    run: RunOptions,
    rates: Path | None,
    source: str | None,
    history_hours: float | None,
    window_hours: float | None,
    journal_compression: str | None,
    wan_compression: str | None,
    html_file: Path | None,
) -> None:
    """Size journals, the WAN link and the recovery cluster from measured write rates.

    \b
    --from-vcenter  read them from the protected site's vCenter (size.yml; -i, -e as the
                    other commands), and check the recovery cluster with one host down
    --from-zvm      a running customer: the ZVM's counters, resources report and RPOs,
                    the plan beside them with a warning on drift
    RATES           a CSV or JSON file of rows of `vm` and `write_kbps` (vCenter's
                    disk.write.average, KB/s), one per VM or one per sample with a
                    `timestamp`, e.g.:
                      vm,timestamp,write_kbps
                      app01,2024-05-01T10:00,850
    Units: GB = 10^9 bytes, Mb/s = 10^6 bit/s, KB/s with 1 KB = 1000 bytes.
    --output json|csv: the report on stdout (json holds every VM's raw samples)."""
    params = _parameters(history_hours, journal_compression, wan_compression)
    if (rates is None) == (source is None):
        click.echo(
            "vmrepl size: give RATES.csv, --from-vcenter or --from-zvm (one of them).", err=True
        )
        sys.exit(2)
    if source is not None:
        _from_inventory(run, source, params, window_hours, html_file)
    assert rates is not None
    _from_file(rates, params, run.output, html_file)


def _from_inventory(
    run: RunOptions,
    source: str,
    params: dict[str, Any],
    window_hours: float | None,
    html_file: Path | None,
) -> None:
    from vmrepl.cli.execute import run_command
    from vmrepl.sizing import report as sizing_report

    variables: dict[str, Any] = {"sizing_source": source}
    if params:
        variables["sizing_parameters"] = params
    if window_hours is not None:
        variables["sizing_window_hours"] = window_hours

    def extract(summary: Any) -> dict[str, Any]:
        sizing = summary.reported.get("sizing")
        doc = {"sizing": dict(sizing) if isinstance(sizing, dict) else {}}
        one = _sizing_of(doc)
        _write_html(html_file, one)
        # The report's own figures at the top (vms, journal_total_gb, wan_mbps, target, ...).
        return {**one, **doc}

    def render(console: Any, doc: dict[str, Any]) -> None:
        one = _sizing_of(doc)
        if one:
            sizing_report.render_table(console, one)

    def as_csv(doc: dict[str, Any]) -> str:
        return sizing_report.to_csv(_sizing_of(doc))

    run_command(
        "size",
        "size.yml",
        run,
        variables,
        extension=extract,
        renderer=render,
        formats={"csv": as_csv},
    )


def _from_file(rates: Path, params: dict[str, Any], output: str, html_file: Path | None) -> None:
    from types import SimpleNamespace

    from vmrepl import sizing
    from vmrepl.sizing import report as sizing_report

    try:
        series = sizing.series(sizing.load(rates))
        doc = sizing_report.build(
            SimpleNamespace(vms=series, kind="csv", notes=[]), sizing.Parameters(**params)
        )
    except (sizing.SizingError, UnicodeDecodeError) as exc:
        click.echo(f"vmrepl size: {exc}", err=True)
        sys.exit(2)
    doc["source"] = {"kind": "csv", "file": str(rates)}
    _write_html(html_file, doc)
    if output == "json":
        click.echo(json.dumps(doc, indent=2))
    elif output == "csv":
        click.echo(sizing_report.to_csv(doc), nl=False)
    else:
        from rich.console import Console

        sizing_report.render_table(Console(highlight=False), doc)


# --output csv besides text and json (the shared option has those two).
for _param in size.params:
    if _param.name == "output":
        _param.type = click.Choice(["text", "json", "csv"])
