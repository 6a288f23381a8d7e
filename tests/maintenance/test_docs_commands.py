"""Every shell block of docs/maintenance.md, run as written (one line after the other, each in
a shell of its own) in a checkout of its own against a lab of its own, as the README's blocks
are (tests/cli/test_readme_commands.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.test_readme_commands import run_lines
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT
from vmrepl.results import plain

pytestmark = pytest.mark.lab

DOC = REPO_ROOT / "docs" / "maintenance.md"


def blocks() -> list[list[str]]:
    text = DOC.read_text()
    found = [m.group(1) for m in re.finditer(r"```sh\n(.*?)```", text, re.S)]
    return [[line for line in b.splitlines() if line.strip()] for b in found]


def test_the_maintenance_doc_has_one_cycle_from_lab_up_to_lab_down() -> None:
    [lines] = blocks()
    assert lines[0] == "vmrepl lab up" and lines[-1] == "vmrepl lab down"


def test_every_shell_line_of_the_doc_runs_as_written(tmp_path: Path) -> None:
    [lines] = blocks()
    audit = tmp_path / "audit.jsonl"
    try:
        done = run_lines(lines, tmp_path, {"VMREPL_AUDIT_LOG": str(audit)})
    finally:
        manager.down(tmp_path / "lab")
    by_line = dict(zip(lines, done, strict=True))
    checked = by_line["vmrepl upgrade --request-ref CHG-UPGRADE-1 --check"].stdout
    assert "Would upgrade 2 VRA(s)" in checked and "batch 2 (DC0_C0_H1)" in checked
    rolled = by_line["vmrepl upgrade --request-ref CHG-UPGRADE-1 --batch-size 1"].stdout
    assert "Upgraded 2 VRA(s)" in rolled
    again = by_line["vmrepl upgrade --request-ref CHG-UPGRADE-1"].stdout
    assert "every VRA is at version" in again
    runner = next(r for line, r in by_line.items() if line.startswith("ansible-runner"))
    shown = " ".join(plain(runner.stdout).split())
    at = shown.find("Upgraded 2 VRA(s) to 10.0.80.1310 in 1 batch(es)")
    assert at >= 0, shown[-3000:]
    assert "batch 1 (DC0_C0_H0, DC0_C0_H1)" in shown[at : at + 200], shown[at : at + 200]
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    operations = [(e["operation"], e["request_ref"]) for e in entries]
    assert ("vra_upgrade", "CHG-UPGRADE-2") in operations
    assert ("host_maintenance_enter", "CHG-MAINT-1") in operations
    assert ("host_maintenance_exit", "CHG-MAINT-1") in operations
