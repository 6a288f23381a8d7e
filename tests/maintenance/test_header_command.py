"""The command of host_maintenance.yml's header comment, run as written (the placeholders
filled) in a checkout of its own against a deployed pair of its own: the target's DC0_C0_H0
into maintenance mode under the ticket, then the same command with ``state=exit``, as the
header says, brings it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_playbook_headers_run import header_command
from tests.cli.test_readme_commands import run_lines
from vmrepl.lab import manager
from vmrepl.results import plain

pytestmark = pytest.mark.lab


def test_the_host_maintenance_header_command_runs_as_written(tmp_path: Path) -> None:
    enter = header_command("host_maintenance.yml")
    assert enter.endswith('-e host_maintenance_state=enter"'), enter
    leave = enter.replace("host_maintenance_state=enter", "host_maintenance_state=exit")
    audit = tmp_path / "audit.jsonl"
    try:
        *_, entered, left = run_lines(
            [
                "vmrepl lab up --deployed --task-seconds 0.3 --boot-seconds 1",
                "ansible-runner run . -p deploy_remote.yml",
                enter,
                leave,
            ],
            tmp_path,
            {"VMREPL_AUDIT_LOG": str(audit)},
        )
    finally:
        manager.down(tmp_path / "lab")
    shown = " ".join(plain(entered.stdout).split())
    assert "DC0_C0_H0" in shown and "maintenance mode" in shown, shown[-3000:]
    assert "power on Z-VRA-DC0_C0_H0" in " ".join(plain(left.stdout).split()), left.stdout[-3000:]
    lines = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    assert [(e["operation"], e["request_ref"]) for e in lines] == [
        ("host_maintenance_enter", "CHG-HEADER"),
        ("host_maintenance_exit", "CHG-HEADER"),
    ], lines
    assert all("succeeded" in e["result"] for e in lines), lines
