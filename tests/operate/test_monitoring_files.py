"""The shipped monitoring files: the rules pass promtool's own tests, name the alerts the
incident knowledge is keyed by, and the dashboard, the rules and the docs use only metrics the
exporter exposes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from vmrepl.operate import exporter

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
ALERTS = {
    "VmreplZvmDown",
    "VmreplVpgRpoBreach",
    "VmreplVpgNotMeetingSla",
    "VmreplJournalHistoryShort",
    "VmreplVraNotInstalled",
    "VmreplVraOutdated",
    "VmreplPeerNotPaired",
    "VmreplLicenceExpiring",
    "VmreplFailoverTestOverdue",
    "VmreplVcenterDown",
    "VmreplBackupRpoBreach",
    "VmreplDatastoreFreeLow",
    "VmreplDatastoreFreeCritical",
}
METRIC = re.compile(r"\bvmrepl_[a-z_]+\b")


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("Debian's prometheus (promtool) is not installed: run scripts/setup.sh")
    return found


def rules() -> list[dict[str, object]]:
    doc = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_promtool_tests_the_rules() -> None:
    done = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_checks_the_examples() -> None:
    done = subprocess.run(
        [promtool(), "check", "config", "prometheus.example.yml"],
        cwd=MONITORING,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    amtool = shutil.which("amtool")
    if amtool:
        done = subprocess.run(
            [amtool, "check-config", "alertmanager.example.yml"],
            cwd=MONITORING,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_has_a_summary_and_its_runbook() -> None:
    found = {str(rule["alert"]): rule for rule in rules()}
    assert set(found) == ALERTS
    tested = (MONITORING / "alerts_test.yml").read_text()
    for name, rule in found.items():
        annotations = rule["annotations"]
        assert isinstance(annotations, dict)
        assert annotations["summary"], name
        assert annotations["runbook"] == f"vmrepl diagnose --explain {name}"
        assert f"alertname: {name}" in tested, f"{name} has no promtool test"


def test_rules_and_dashboard_use_exposed_metrics() -> None:
    exposed = exporter.exposed_names()
    for rule in rules():
        used = set(METRIC.findall(str(rule["expr"])))
        assert used, rule["alert"]
        assert used <= exposed, (rule["alert"], used - exposed)
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    for expr in exprs:
        used = set(METRIC.findall(expr))
        assert used, expr
        assert used <= exposed, (expr, used - exposed)


def test_the_docs_list_every_metric() -> None:
    docs = (ROOT / "docs" / "monitoring.md").read_text()
    for name in exporter.exposed_names():
        assert f"`{name}`" in docs, name
    for name in ALERTS:
        assert f"`{name}`" in docs, name


def test_promtool_parses_every_dashboard_expression(tmp_path: Path) -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules_file = tmp_path / "dashboard.rules.yml"
    rules_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard",
                        "rules": [
                            {"record": f"dashboard:expr{i}", "expr": e} for i, e in enumerate(exprs)
                        ],
                    }
                ]
            }
        )
    )
    done = subprocess.run(
        [promtool(), "check", "rules", str(rules_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stdout + done.stderr, done.stdout + done.stderr
