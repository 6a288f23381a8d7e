"""The sizing report: the plan with its raw samples (so that every figure can be recomputed), and
its renderings - a terminal table, CSV, and an HTML page with charts (matplotlib, SVG inline)."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from collections.abc import Mapping, Sequence
from typing import Any

from vmrepl.sizing.arithmetic import Capacity, Parameters, VmSeries, plan


def build(
    reading: Any,
    params: Parameters,
    capacity: Capacity | None = None,
    measured: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The plan for what a source read (``reading.vms``; ``interval``, ``start``, ``end``,
    ``query_perf_calls``, ``calls``, ``notes`` when it has them), with each VM's raw samples."""
    doc = plan(reading.vms, params, capacity, measured)
    raw = {vm.name: vm for vm in reading.vms}
    for row in doc["vms"]:
        series = raw[row["name"]]
        row["samples_raw"] = {
            "timestamps": list(series.timestamps) if series.timestamps is not None else None,
            "write_kbps": list(series.write_kbps),
        }
    doc["source"] = {
        key: getattr(reading, key)
        for key in ("kind", "interval", "start", "end", "query_perf_calls", "calls", "reads")
        if hasattr(reading, key)
    }
    doc["notes"] = list(getattr(reading, "notes", [])) + doc["notes"]
    return doc


def series_of(doc: Mapping[str, Any]) -> list[VmSeries]:
    """The VM series back from a report's raw samples (to recompute it)."""
    result = []
    for row in doc["vms"]:
        raw = row["samples_raw"]
        result.append(
            VmSeries(
                name=row["name"],
                vpg=row["vpg"],
                write_kbps=tuple(raw["write_kbps"]),
                timestamps=tuple(raw["timestamps"]) if raw["timestamps"] is not None else None,
                interval_seconds=row["interval_seconds"],
                vcpus=row["vcpus"],
                memory_gb=row["memory_gb"],
                storage_gb=row["storage_gb"],
            )
        )
    return result


CSV_COLUMNS = (
    "name",
    "vpg",
    "samples",
    "mean_write_kbps",
    "p95_write_kbps",
    "p98_write_kbps",
    "peak_write_kbps",
    "journal_gb",
    "journal_limit_gb",
    "hard_limit_gb",
    "scratch_gb",
    "exceeds_hard_limit",
    "history_hours_possible",
    "vcpus",
    "memory_gb",
    "storage_gb",
)


def to_csv(doc: Mapping[str, Any]) -> str:
    """One row per VM (SI units as in the column names)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in doc["vms"]:
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def render_table(console: Any, doc: Mapping[str, Any]) -> None:
    from rich.table import Table

    params = doc["parameters"]
    table = Table(
        title=f"Journals ({params['history_hours']:g} h of history, "
        f"{params['journal_compression']} % compression; GB = 10^9 bytes)",
        title_justify="left",
    )
    for column in ("VM", "VPG", "samples", "mean KB/s", "P98 KB/s", "peak KB/s", "journal GB"):
        table.add_column(column, justify="left" if column in ("VM", "VPG") else "right")
    table.add_column("limit GB", justify="right")
    for row in doc["vms"]:
        limit = f"{row['journal_limit_gb']:.1f}"
        table.add_row(
            row["name"],
            row["vpg"],
            str(row["samples"]),
            f"{row['mean_write_kbps']:.1f}",
            f"{row['p98_write_kbps']:.1f}",
            f"{row['peak_write_kbps']:.1f}",
            f"{row['journal_gb']:.1f}",
            f"[red]{limit} (hard limit)[/]" if row["exceeds_hard_limit"] else limit,
        )
    console.print(table)
    console.print(
        f"Journal: {doc['journal_total_gb']:.1f} GB estimated, {doc['journal_limit_total_gb']:.1f}"
        f" GB of limits, {doc['journal_with_test_gb']:.1f} GB with failover-test scratch."
    )
    wan = doc["wan"]
    console.print(
        f"WAN: {doc['wan_mbps']:.2f} Mb/s (P95 {wan['p95']:.2f}, P98 {wan['p98']:.2f}, peak "
        f"{wan['peak']:.2f}; {wan['method']}); at 50 % / 70 % compression "
        f"{wan['compression_scenarios_mbps']['50']:.2f} / "
        f"{wan['compression_scenarios_mbps']['70']:.2f} Mb/s."
    )
    sync = doc["initial_sync"]
    console.print(
        f"Initial sync: {sync['storage_gb']:.1f} GB over {sync['link_mbps']:.2f} Mb/s at "
        f"{sync['efficiency']:g} efficiency: {sync['hours']:.1f} h."
    )
    target = doc.get("target")
    if target:
        table = Table(
            title=f"Recovery cluster {target['cluster']} with {target['hosts_down']} host(s) down",
            title_justify="left",
        )
        for column in ("resource", "need", "capacity", "short"):
            table.add_column(column, justify="left" if column == "resource" else "right")
        for key, need in target["need"].items():
            short = target["short"].get(key)
            table.add_row(
                key,
                f"{need:.2f}",
                f"{target['capacity'][key]:.2f}",
                f"[red]{short:.2f}[/]" if short else "-",
            )
        console.print(table)
        console.print("Failover fits." if target["fits"] else "[red]Failover does NOT fit[/].")
        volumes = target.get("vra_volumes")
        if volumes:
            spread = ", ".join(f"{h['host']} {h['volumes']}" for h in volumes["per_host"])
            console.print(
                f"VRA volumes ({volumes['per_vm']}; at most {volumes['limit_per_vra']} per "
                f"VRA): {spread or 'no recovery host'}."
            )
            for host in volumes["over_limit"]:
                console.print(
                    f"[red]{host['host']}: {host['volumes']} volumes, {host['over_by']} over "
                    "the limit.[/]"
                )
    measured = doc.get("measured")
    if measured:
        table = Table(title="Measured by the ZVM beside the plan", title_justify="left")
        for column in ("VM", "journal used GB", "journal plan GB"):
            table.add_column(column, justify="left" if column == "VM" else "right")
        for row in measured["vms"]:
            table.add_row(
                row["name"], f"{row['journal_used_gb']:.2f}", f"{row['journal_plan_gb']:.2f}"
            )
        console.print(table)
        for rpo in measured["rpo"]:
            console.print(
                f"VPG {rpo['vpg']}: RPO {rpo['rpo_seconds']} s (configured "
                f"{rpo['configured_rpo_seconds']} s)."
            )
        if measured["wan_mbps"] is not None:
            console.print(
                f"WAN sent: {measured['wan_mbps']:.2f} Mb/s "
                f"(planned {measured['wan_plan_mbps']:.2f})."
            )
    for note in doc["notes"]:
        console.print(f"Note: {note}")


def _svg(figure: Any) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight")
    text = out.getvalue()
    return text[text.index("<svg") :]


def charts(doc: Mapping[str, Any]) -> dict[str, str]:
    """SVG charts: the total write rate over the window with P95/P98 marked, the journal per
    VPG, and the recovery cluster's capacity against the need."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "vmrepl"  # the same SVG for the same report
    result: dict[str, str] = {}
    series = doc["total_series"]
    fig, ax = plt.subplots(figsize=(9, 3.2))
    if series["timestamps"]:
        times: Any = [dt.datetime.fromtimestamp(t, dt.UTC) for t in series["timestamps"]]
        ax.plot(
            times,
            series["write_mbps"],
            linewidth=1,
            label="write rate, all VMs",
        )
        fig.autofmt_xdate()
    for key, style in (("p95", ":"), ("p98", "--")):
        ax.axhline(doc["wan"][key], linestyle=style, color="crimson", label=f"{key.upper()}")
    ax.set_ylabel("Mb/s")
    ax.set_title("Write rate over the window")
    ax.legend(loc="upper right")
    result["write_rate"] = _svg(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3))
    names = [v["name"] for v in doc["vpgs"]]
    ax.bar(names, [v["journal_limit_gb"] for v in doc["vpgs"]], label="journal (limits)")
    ax.bar(
        names,
        [v["scratch_gb"] for v in doc["vpgs"]],
        bottom=[v["journal_limit_gb"] for v in doc["vpgs"]],
        label="test scratch",
    )
    ax.set_ylabel("GB")
    ax.set_title("Journal per VPG")
    ax.legend()
    result["journal"] = _svg(fig)
    plt.close(fig)

    target = doc.get("target")
    if target:
        fig, axes = plt.subplots(1, 3, figsize=(9, 3))
        for axis, key in zip(axes, ("vcpus", "memory_gb", "storage_gb"), strict=True):
            need, have = target["need"][key], target["capacity"][key]
            axis.bar(
                ["need", "capacity"],
                [need, have],
                color=["crimson" if need > have else "seagreen", "steelblue"],
            )
            axis.set_title(key)
        fig.suptitle(f"{target['cluster']} with {target['hosts_down']} host(s) down")
        result["target"] = _svg(fig)
        plt.close(fig)
    return result


def _table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def to_html(doc: Mapping[str, Any]) -> str:
    """A self-contained page: figures, tables and the charts (inline SVG)."""
    svg = charts(doc)
    target = doc.get("target")
    fit = ""
    if target:
        verdict = "fits" if target["fits"] else "does not fit"
        rows = [
            {
                "resource": k,
                "need": target["need"][k],
                "capacity": target["capacity"][k],
                "short": target["short"].get(k, "-"),
            }
            for k in target["need"]
        ]
        fit = (
            f'<h2>Recovery cluster</h2><p id="target-verdict">A failover to '
            f"{html.escape(target['cluster'])} with {target['hosts_down']} host(s) down "
            f"<b>{verdict}</b>.</p>"
            + _table(rows, ("resource", "need", "capacity", "short"))
            + f'<figure id="chart-target">{svg["target"]}</figure>'
        )
        volumes = target.get("vra_volumes")
        if volumes:
            over = {h["host"]: h["over_by"] for h in volumes["over_limit"]}
            fit += (
                f'<h3>VRA volumes</h3><p id="vra-volumes">{html.escape(volumes["per_vm"])}; '
                f"at most {volumes['limit_per_vra']} per VRA.</p>"
                + _table(
                    [{**h, "over_by": over.get(h["host"], "-")} for h in volumes["per_host"]],
                    ("host", "volumes", "over_by"),
                )
            )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in doc["notes"])
    measured = doc.get("measured")
    if measured:
        fit += (
            "<h2>Measured beside the plan</h2>"
            + _table(measured["vms"], ("name", "journal_used_gb", "journal_plan_gb"))
            + _table(measured["rpo"], ("vpg", "rpo_seconds", "configured_rpo_seconds"))
        )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>vmrepl sizing</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}</style></head>
<body><h1>Sizing</h1>
<p>Units: {html.escape(", ".join(f"{k} in {v}" for k, v in doc["units"].items()))}.
Percentiles: {html.escape(doc["percentile_method"])}.</p>
<p id="summary">Journals <span id="journal-total">{doc["journal_total_gb"]:.1f}</span> GB;
WAN <span id="wan-mbps">{doc["wan_mbps"]:.2f}</span> Mb/s.</p>
<h2>Write rate</h2><figure id="chart-write-rate">{svg["write_rate"]}</figure>
<h2>Journals</h2>{_table(doc["vms"], CSV_COLUMNS)}
<figure id="chart-journal">{svg["journal"]}</figure>
{fit}
<h2>Notes</h2><ul>{notes}</ul>
</body></html>
"""
