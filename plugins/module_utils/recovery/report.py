# Copyright: vmrepl contributors
# Apache License 2.0
"""The report of a testing or recovery run, in three forms: JSON (the record), JUnit XML (for
pipelines) and one self-contained HTML page (inline CSS, no scripts, no external assets).

:func:`build` turns the run's per-VPG results into the report (a plain dict); the renderers are
pure functions of it; :func:`write` puts the three files into a directory.
"""

from __future__ import annotations

import html
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import (
    failed_checks,
    handoff_checklist,
    label,
)

SCHEMA = "vmrepl.recovery-report/1"
#: Statuses of a VPG's result that count as a failure in JUnit.
FAILED = ("failed", "refused", "not_found")


def overall(
    results: Sequence[Mapping[str, Any]],
    failures: Mapping[str, str],
    refused: str | None,
    check_mode: bool,
) -> tuple[str, str]:
    """(result, reason) of a run: ``refused``, ``failed``, ``checked`` (check mode) or
    ``succeeded``. Pure."""
    if refused:
        return "refused", refused
    bad = [r for r in results if r.get("status") in ("failed", "not_found", "refused")]
    if bad or failures:
        reasons = [str(r.get("message")) for r in bad] + [
            f"{site}: {msg}" for site, msg in sorted(failures.items()) if msg
        ]
        return "failed", " | ".join(dict.fromkeys(reasons)) or "failed"
    if check_mode:
        return "checked", "check mode: nothing was changed"
    acted = [r for r in results if r.get("status") == "succeeded"]
    if not acted:
        return "succeeded", "nothing to do: " + " | ".join(str(r.get("message")) for r in results)
    return "succeeded", " | ".join(str(r.get("message")) for r in acted)


def audit_result(result: str, reason: str) -> str:
    """The result column of the audit log: ``succeeded``, ``failed: <reason>``, ...."""
    if result == "succeeded":
        return "succeeded (nothing to do)" if reason.startswith("nothing to do") else result
    return f"{result}: {reason}"


def build(
    *,
    run_id: str,
    operation: str,
    edition: str,
    request_ref: str,
    vpgs: Sequence[str],
    results: Sequence[Mapping[str, Any]],
    failures: Mapping[str, str] | None = None,
    refused: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    user: str | None = None,
    job_id: str | None = None,
    check_mode: bool = False,
) -> dict[str, Any]:
    """The report of one run. ``results`` are the per-VPG results (joined across sites);
    ``failures`` site → message of a site whose part failed as a whole. Pure."""
    failures = dict(failures or {})
    listed = {str(r.get("vpg")) for r in results}
    rows = [dict(r) for r in results]
    if not refused:
        for name in vpgs:
            if name not in listed:
                rows.append(
                    {
                        "vpg": name,
                        "status": "not_found",
                        "message": f"VPG {name} was not found at any site of this run",
                        "vms": [],
                        "errors": [],
                    }
                )
    for row in rows:
        row["checklist"] = handoff_checklist(operation, row)
    result, reason = overall(rows, failures, refused, check_mode)
    return {
        "schema": SCHEMA,
        "run_id": run_id,
        "operation": operation,
        "operation_label": label(operation),
        "edition": edition,
        "request_ref": request_ref,
        "vpgs_requested": list(vpgs),
        "user": user,
        "job_id": job_id,
        "started": started,
        "ended": ended,
        "check_mode": check_mode,
        "result": result,
        "reason": reason,
        "site_failures": failures,
        "vpgs": rows,
        "checklist": [{**item, "vpg": row.get("vpg")} for row in rows for item in row["checklist"]],
    }


# -- JSON -------------------------------------------------------------------------------------
def render_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# -- JUnit XML --------------------------------------------------------------------------------
def _seconds(value: Any) -> str:
    return f"{float(value):.3f}" if isinstance(value, int | float) else "0"


def render_junit(report: Mapping[str, Any]) -> str:
    """One test suite per VPG: a test case for the operation and one per VM. A refused run is
    one suite with one erroring case."""
    op = str(report.get("operation"))
    root = ET.Element("testsuites", name=f"vmrepl {op}")
    total = failures = errors = skipped = 0
    if report.get("result") == "refused":
        suite = ET.SubElement(root, "testsuite", name=f"{op} request", tests="1", errors="1")
        suite.set("failures", "0")
        case = ET.SubElement(suite, "testcase", classname=f"vmrepl.{op}", name="request")
        ET.SubElement(case, "error", message=str(report.get("reason")), type="refused").text = str(
            report.get("reason")
        )
        total, errors = 1, 1
    for row in report.get("vpgs", []) if report.get("result") != "refused" else []:
        vpg = str(row.get("vpg"))
        suite = ET.SubElement(root, "testsuite", name=f"{op} {vpg}")
        if row.get("started"):
            suite.set("timestamp", str(row["started"]).rstrip("Z"))
        props = ET.SubElement(suite, "properties")
        checkpoint = row.get("checkpoint") or {}
        for key, value in (
            ("request_ref", report.get("request_ref")),
            ("site", row.get("site")),
            ("checkpoint", checkpoint.get("identifier")),
            ("checkpoint_time", checkpoint.get("time")),
            ("rpo_seconds", row.get("rpo_seconds")),
            ("rto_seconds", row.get("rto_seconds")),
            ("commit", row.get("commit")),
        ):
            if value is not None:
                ET.SubElement(props, "property", name=key, value=str(value))
        classname = f"vmrepl.{op}.{vpg}"
        cases = 0
        case = ET.SubElement(
            suite, "testcase", classname=classname, name=op, time=_seconds(row.get("rto_seconds"))
        )
        cases += 1
        status = row.get("status")
        if status in ("skipped", "not_run"):
            ET.SubElement(case, "skipped", message=str(row.get("message")))
            skipped += 1
        elif status in FAILED:
            failure = ET.SubElement(case, "failure", message=str(row.get("message")), type=status)
            failure.text = "\n".join(map(str, row.get("errors") or [row.get("message")]))
            failures += 1
        ET.SubElement(case, "system-out").text = str(row.get("message"))
        for vm in row.get("vms", []):
            vm_case = ET.SubElement(suite, "testcase", classname=classname, name=str(vm["name"]))
            cases += 1
            problems = failed_checks(vm)
            if problems:
                ET.SubElement(vm_case, "failure", message="; ".join(problems), type="validation")
                failures += 1
            ET.SubElement(vm_case, "system-out").text = "\n".join(
                f"{c['check']}: {c['result']} - {c['detail']}" for c in vm.get("checks", [])
            )
        suite_failures = sum(1 for c in suite.iter("failure"))
        suite.set("tests", str(cases))
        suite.set("failures", str(suite_failures))
        suite.set("errors", "0")
        suite.set("skipped", str(sum(1 for _ in suite.iter("skipped"))))
        total += cases
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- HTML -------------------------------------------------------------------------------------
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1d2430;
background:#f6f7f9}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:0}
h3{font-size:1rem;margin:1rem 0 .4rem}
.sub{color:#5b6472;margin:0 0 1.5rem}
section,.meta{background:#fff;border:1px solid #dde1e7;border-radius:8px;padding:1rem 1.25rem;
margin:0 0 1.25rem}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eceef2;vertical-align:top}
th{color:#5b6472;font-weight:600;white-space:nowrap}
.kv th{width:12rem}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:999px;font-size:.8rem;
font-weight:600;margin-left:.5rem}
.succeeded,.passed,.checked{background:#dff3e4;color:#17632f}
.failed,.refused,.not_found{background:#fde2e1;color:#8a1c17}
.unchanged,.skipped,.not_run,.not_available,.planned{background:#e8ebf0;color:#3d4654}
.metric{font-size:1.6rem;font-weight:700}
.metrics{display:flex;gap:2rem;margin:.75rem 0}
.metrics div span{display:block;color:#5b6472;font-size:.8rem}
ul.checklist{list-style:none;padding:0}ul.checklist li{padding:.3rem 0}
ul.checklist li::before{content:"\\2610  ";font-size:1.1rem}
.errors li{color:#8a1c17}
footer{color:#5b6472;font-size:.8rem}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _badge(status: Any) -> str:
    text = str(status or "")
    return f'<span class="badge {_e(text)}">{_e(text.replace("_", " "))}</span>'


def _seconds_text(value: Any) -> str:
    return f"{value} s" if isinstance(value, int | float) else "not measured"


def _tr(*cells: str, head: bool = False) -> str:
    """A table row of already escaped cells."""
    tag = "th" if head else "td"
    return "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>"


def _metric(name: str, css: str, value: Any) -> str:
    text = _e(_seconds_text(value))
    return f'<div><span>{_e(name)}</span><b class="metric {css}">{text}</b></div>'


def _vm_row(vm: Mapping[str, Any]) -> str:
    why = "; ".join(
        f"{c['check']}: {c['detail']}" for c in vm.get("checks", []) if c["result"] != "passed"
    )
    return _tr(
        _e(vm.get("name")),
        _e(vm.get("host")),
        _e(vm.get("power_state")),
        _e(vm.get("tools") or "not installed"),
        _e(vm.get("ip") or "-"),
        _e(", ".join(vm.get("networks") or [])),
        _badge("passed" if vm.get("ok") else "failed"),
        _e(why),
    )


def _step_row(step: Mapping[str, Any]) -> str:
    return _tr(
        _e(step.get("step")),
        _e(step.get("started") or ""),
        _e(step.get("seconds")),
        _badge("passed" if step.get("result") == "ok" else "failed"),
    )


def _vpg_section(row: Mapping[str, Any]) -> str:
    checkpoint = row.get("checkpoint") or {}
    point = checkpoint.get("time") or checkpoint.get("tag") or "-"
    if checkpoint.get("identifier"):
        point = f"{checkpoint.get('time')} (id {checkpoint.get('identifier')})"
    facts = [
        ("Status", _badge(row.get("status"))),
        ("Summary", _e(row.get("message"))),
        ("Site of the run", _e(row.get("site"))),
        (
            "Protected → recovery",
            f"{_e(row.get('protected_site'))} → {_e(row.get('recovery_site'))}",
        ),
        ("VPG status", _e(row.get("vpg_status"))),
        ("Checkpoint", f"{_e(point)} - {_e(checkpoint.get('chosen_by'))}"),
        ("Test network", _e(row.get("test_network"))),
        ("Commit", _e(row.get("commit"))),
        ("Reverse protection", _e(row.get("reverse_protection"))),
        ("Started / ended", f"{_e(row.get('started'))} / {_e(row.get('ended'))}"),
    ]
    facts = [(k, v) for k, v in facts if v and v not in ("None", "None → None")]
    parts = [
        f'<section class="vpg" id="vpg-{_e(row.get("vpg"))}">',
        f"<h2>VPG {_e(row.get('vpg'))}{_badge(row.get('status'))}</h2>",
        '<div class="metrics">',
        _metric("RPO at start", "rpo", row.get("rpo_seconds")),
        _metric("RTO (until the VMs were up)", "rto", row.get("rto_seconds")),
        "</div>",
        '<table class="kv">',
        *(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in facts),
        "</table>",
    ]
    if row.get("vms"):
        heads = ("VM", "Host", "Power", "Tools", "Address", "Networks", "Result", "Why")
        parts += [
            "<h3>Validation of the recovered VMs</h3>",
            '<table class="vms">',
            _tr(*heads, head=True),
            *(_vm_row(vm) for vm in row["vms"]),
            "</table>",
        ]
    if row.get("errors"):
        parts += ["<h3>Errors</h3>", '<ul class="errors">']
        parts += [f"<li>{_e(err)}</li>" for err in row["errors"]]
        parts.append("</ul>")
    if row.get("notes"):
        parts += ["<h3>Notes</h3>", "<ul>", *(f"<li>{_e(n)}</li>" for n in row["notes"]), "</ul>"]
    if row.get("steps"):
        parts += [
            "<h3>Steps</h3>",
            '<table class="steps">',
            _tr("Step", "Started", "Seconds", "Result", head=True),
            *(_step_row(step) for step in row["steps"]),
            "</table>",
        ]
    if row.get("checklist"):
        parts += ["<h3>Hand-off checklist (customer)</h3>", '<ul class="checklist">']
        parts += [f"<li>{_e(item['task'])}</li>" for item in row["checklist"]]
        parts.append("</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def render_html(report: Mapping[str, Any]) -> str:
    """One self-contained page: inline CSS, no scripts, no external assets."""
    title = f"vmrepl {report.get('operation_label')} report"
    meta = [
        ("Result", _badge(report.get("result")) + " " + _e(report.get("reason"))),
        ("Operation", _e(report.get("operation_label"))),
        ("Edition", _e(report.get("edition"))),
        ("Request reference", f'<span class="request-ref">{_e(report.get("request_ref"))}</span>'),
        ("VPGs", _e(", ".join(report.get("vpgs_requested") or []))),
        (
            "Run by",
            _e(report.get("user"))
            + (f" (AWX job {_e(report['job_id'])})" if report.get("job_id") else ""),
        ),
        ("Started / ended", f"{_e(report.get('started'))} / {_e(report.get('ended'))}"),
        ("Check mode", "yes - nothing was changed" if report.get("check_mode") else "no"),
        ("Run id", _e(report.get("run_id"))),
    ]
    failures = report.get("site_failures") or {}
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(report.get("request_ref"))} - {_e(report.get("started"))}</p>',
        '<div class="meta"><table class="kv">',
        *(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in meta),
        "</table>",
    ]
    if failures:
        body += ["<h3>Sites whose part failed</h3>", '<ul class="errors">']
        body += [f"<li>{_e(site)}: {_e(msg)}</li>" for site, msg in sorted(failures.items())]
        body.append("</ul>")
    body.append("</div>")
    body += [_vpg_section(row) for row in report.get("vpgs", [])]
    body += [
        f"<footer>{_e(report.get('schema'))} - written by vmrepl. The customer's tasks above are"
        " theirs to do; the provider has not done them.</footer>",
        "</body></html>",
    ]
    return "\n".join(body) + "\n"


# -- files ------------------------------------------------------------------------------------
def file_stem(report: Mapping[str, Any]) -> str:
    started = str(report.get("started") or "").replace(":", "").replace("-", "")
    stamp = started.split(".")[0].rstrip("Z") + "Z" if started else "undated"
    return f"{report.get('operation')}-{stamp}-{report.get('run_id')}"


def write(report: Mapping[str, Any], directory: str | os.PathLike[str]) -> dict[str, str]:
    """Write ``<stem>.json``, ``<stem>.xml`` (JUnit) and ``<stem>.html``; returns their paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(report)
    paths = {}
    for kind, suffix, text in (
        ("json", ".json", render_json(report)),
        ("junit", ".xml", render_junit(report)),
        ("html", ".html", render_html(report)),
    ):
        target = folder / (stem + suffix)
        handle, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        paths[kind] = str(target)
    return paths


# -- recovery_report's service ------------------------------------------------------------------
def record(p: Mapping[str, Any], check_mode: bool) -> dict[str, Any]:
    """recovery_report's result: the report of a run from the module's options (the VPGs'
    answers merged, failures and refusal), written as JSON, JUnit XML and HTML into
    O(directory) unless the module runs in ``check_mode`` (O(run_check_mode) says whether the
    run reported on was a check mode run); with the checkpoints and the audit result that
    audit_log takes."""
    import uuid

    from ansible_collections.vmrepl.core.plugins.module_utils import audit
    from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import (
        merge_results,
    )

    answers = [item if isinstance(item, list) else [item] for item in p["results"] if item]
    who = audit.actor(p["job_id"])
    report = build(
        run_id=uuid.uuid4().hex[:8],
        operation=p["operation"],
        edition=p["edition"] or "",
        request_ref=p["request_ref"],
        vpgs=p["vpgs"],
        results=merge_results([[r for r in a if isinstance(r, dict)] for a in answers]),
        failures={k: str(v) for k, v in p["failures"].items() if v},
        refused=p["refused"] or None,
        started=p["started"],
        ended=audit.utc_now(),
        user=who["user"],
        job_id=who["job_id"],
        check_mode=p["run_check_mode"],
    )
    paths = {} if check_mode else write(report, p["directory"])
    return {
        "changed": not check_mode,
        "report": report,
        "paths": paths,
        "result": report["result"],
        "reason": report["reason"],
        "audit_result": audit_result(report["result"], report["reason"]),
        "checkpoints": checkpoints_of(report),
        "run_id": report["run_id"],
        "msg": f"{report['operation_label'].capitalize()} {report['result']}: "
        f"{report['reason']} Report: {paths.get('html', '(check mode: not written)')}",
    }


def checkpoints_of(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{VPG: its checkpoint's identifier, time and tag (those it has)} for the VPGs with one."""
    checkpoints = {}
    for row in report["vpgs"]:
        point = row.get("checkpoint") or {}
        if point:
            checkpoints[row["vpg"]] = {
                k: point.get(k) for k in ("identifier", "time", "tag") if point.get(k)
            }
    return checkpoints
