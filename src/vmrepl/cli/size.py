"""``vmrepl size``: journals and WAN bandwidth from the customer's VM write rates."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from vmrepl.cli.options import OUTPUT


@click.command()
@click.argument("rates", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--history-hours",
    type=click.FloatRange(1, 720),
    default=168,
    show_default=True,
    help="Journal history (the service's default: 7 days).",
)
@click.option(
    "--journal-compression",
    type=click.Choice(["0", "50", "70"]),
    default="0",
    show_default=True,
    help="Expected compression of the journal, in %.",
)
@click.option(
    "--wan-compression/--no-wan-compression",
    default=False,
    show_default=True,
    help="WAN compression on compressible data halves the bandwidth.",
)
@click.option(
    "--percentile",
    type=click.FloatRange(50, 100),
    default=98,
    show_default=True,
    help="Percentile of the write rate the WAN is sized on.",
)
@OUTPUT
def size(
    rates: Path,
    history_hours: float,
    journal_compression: str,
    wan_compression: bool,
    percentile: float,
    output: str,
) -> None:
    """Size journals and the WAN link from RATES, a CSV or JSON file of VM write rates.

    \b
    Rows of `vm` and `write_kbps` (vCenter's disk.write.average, KB/s), one per VM or one per
    sample with a `timestamp` column, e.g.:
      vm,timestamp,write_kbps
      app01,2024-05-01T10:00,850
    """
    from vmrepl import sizing

    try:
        result = sizing.size(
            sizing.load(rates),
            history_hours=history_hours,
            journal_compression=int(journal_compression),
            wan_compression=wan_compression,
            pct=percentile,
        )
    except (sizing.SizingError, UnicodeDecodeError) as exc:
        click.echo(f"vmrepl size: {exc}", err=True)
        sys.exit(2)
    if output == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    table = Table(title=f"Journals ({history_hours:g} h of history)", title_justify="left")
    for column in ("VM", "samples", "avg KB/s", f"p{percentile:g} KB/s", "journal GB", "limit GB"):
        table.add_column(column, justify="left" if column == "VM" else "right")
    for vm in result.vms:
        table.add_row(
            vm.vm,
            str(vm.samples),
            f"{vm.average_write_kbps:.1f}",
            f"{vm.percentile_write_kbps:.1f}",
            f"{vm.journal_gb:.1f}",
            f"{vm.journal_limit_gb:.1f}",
        )
    console.print(table)
    console.print(
        f"Journal: {result.journal_gb:.1f} GB estimated, {result.journal_limit_gb:.1f} GB of "
        f"limits (8 GB minimum per VM), {result.journal_with_test_gb:.1f} GB with failover-test "
        "scratch space."
    )
    console.print(
        f"WAN: {result.wan_mbps:.1f} Mb/s ({result.wan_method}"
        + (", halved by WAN compression" if wan_compression else "")
        + ")."
    )
    for note in result.notes:
        console.print(f"Note: {note}")
