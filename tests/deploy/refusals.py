"""What the lab refusal catalogue's files share (tests/deploy/test_deploy_preflight.py,
tests/deploy/test_refusals_recovery.py): a refused run proved to have changed nothing at any
site (tests/support/lab_snapshot.py), and the evidence it leaves. The deployed pair they meet
is the ``paired`` fixture of tests/deploy/conftest.py (module-scoped: each file starts its own,
so the files run side by side)."""

from __future__ import annotations

import json
from typing import Any

from tests.deploy.conftest import Lab
from tests.support.lab_snapshot import differences, lab_snapshot
from vmrepl.paths import CHECKOUT as REPO_ROOT
from vmrepl.results import EXIT_CODES, summarise
from vmrepl.runner import RunResult

LAB_VMS = {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
VPG = "100001-7-default"
LAB_INVENTORY = REPO_ROOT / "inventories" / "lab"
#: Quick enough for the lab, never asserted as wall times.
FAST = {"recovery_poll_interval": 0.2, "recovery_boot_timeout": 20, "recovery_sync_timeout": 60}


def refused_run(lab: Lab, playbook: str, **kwargs: Any) -> RunResult:
    """Run a playbook that must be refused; assert that it was (exit 2) and that nothing
    changed at any site of the lab."""
    before = lab_snapshot(lab)
    result = lab.run(playbook, **kwargs)
    after = lab_snapshot(lab)
    assert result.status == "failed"
    assert result.count("changed") == 0
    summary = summarise(result.events, result.status)
    assert (summary.status, summary.exit_code) == ("refused", EXIT_CODES["refused"]), summary.reason
    assert differences(before, after) == []
    return result


def evidence(lab: Lab) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recovery reports (oldest first) and the audit lines of the lab's runs."""
    folder = lab.directory / "reports"
    reports = [
        json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    ]
    audit = lab.directory / "audit.jsonl"
    lines = audit.read_text().splitlines() if audit.exists() else []
    return reports, [json.loads(line) for line in lines if line.strip()]


def recovery_run(lab: Lab, playbook: str, **extravars: Any) -> RunResult:
    env = {"VMREPL_AUDIT_LOG": str(lab.directory / "audit.jsonl")}
    return refused_run(lab, playbook, extravars={**FAST, **extravars}, envvars=env)
