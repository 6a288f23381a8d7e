"""The commands the playbooks' header comments show, run as written (the placeholders filled
with the lab's values) in a checkout of their own against a lab of their own: the remote
edition's deployment, health, failover test, move, failback, failover, and a customised VPG;
on a local-edition lab, the local recovery; on a pair with a newer VRA release, the rolling
upgrade. (tests/unit/test_playbook_headers.py checks
how every one of them is split and that it names real variables.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.test_readme_commands import run_lines
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

VPG = "100001-7-default"
FILLED = {"<ticket>": "CHG-HEADER", "<vpg>": VPG}
ORDER = [
    "deploy_remote.yml",
    "health.yml",
    "failover_test.yml",
    "move.yml",
    "failback.yml",
    "vpg.yml",
    "failover.yml",
]


def header_command(playbook: str, filled: dict[str, str] = FILLED) -> str:
    """The ansible-runner command of a playbook's header comment, its continued lines joined
    (as a shell joins them) and the placeholders filled."""
    comments = []
    for line in (REPO_ROOT / "playbooks" / playbook).read_text().splitlines()[1:]:
        if not line.startswith("#"):
            break
        comments.append(line.lstrip("#").strip())
    start = next(i for i, line in enumerate(comments) if line.startswith("ansible-runner run"))
    parts = [comments[start]]
    while parts[-1].endswith("\\"):
        parts[-1] = parts[-1][:-1].rstrip()
        start += 1
        parts.append(comments[start])
    command = " ".join(parts).split("   (")[0].strip()  # "(the lab by default; ...)" is prose
    for placeholder, value in filled.items():
        command = command.replace(placeholder, value)
    assert "<" not in command, command
    return command


#: Header commands run by tests elsewhere, by playbook.
RUN_ELSEWHERE = {
    "size.yml": "tests/sizing/test_docs_commands.py",
    "host_maintenance.yml": "tests/maintenance/test_header_command.py",
    "backup_readiness.yml": "tests/backup/test_header_commands.py",
}


def test_every_playbook_with_a_header_command_is_run() -> None:
    """Each playbook whose header shows a command is run by a test of this file, or by the
    test named in RUN_ELSEWHERE (which calls header_command)."""
    shown = {
        p.name
        for p in (REPO_ROOT / "playbooks").glob("*.yml")
        if "ansible-runner run" in p.read_text().split("\n- ", 1)[0]
    }
    assert shown == {*ORDER, "local_recovery.yml", "upgrade.yml", *RUN_ELSEWHERE}
    for playbook, test in RUN_ELSEWHERE.items():
        assert f'header_command("{playbook}")' in (REPO_ROOT / test).read_text(), test


def test_the_playbook_headers_commands_run_as_written(tmp_path: Path) -> None:
    commands = [header_command(playbook) for playbook in ORDER]
    request = (
        "vpg_request_ref: CHG-HEADER\n"
        "vpg_definitions:\n"
        f"  - name: {VPG}\n"
        "    vms: [DC0_C0_RP0_VM0, DC0_C0_RP0_VM1]\n"
        "    rpo_alert_seconds: 240\n"
    )
    evidence = tmp_path / "evidence"
    try:
        runs = run_lines(
            commands,
            tmp_path,
            {
                "VMREPL_REPORT_DIR": str(evidence / "reports"),
                "VMREPL_AUDIT_LOG": str(evidence / "audit.jsonl"),
            },
            files={"customer-request.yml": request},
        )
        assert len(runs) == len(ORDER)
    finally:
        manager.down(tmp_path / "lab")


def test_the_local_recovery_header_command_runs_as_written(tmp_path: Path) -> None:
    """On a local-edition lab, deployed: the header's local recovery (as new VMs, to a point
    in time: the moment the command runs, as the shell gives it)."""
    point = "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    command = header_command("local_recovery.yml", {**FILLED, "<iso8601>": point})
    evidence = tmp_path / "evidence"
    try:
        run_lines(
            [
                "vmrepl lab up --edition local --deployed --task-seconds 0.3 --boot-seconds 1",
                "ansible-runner run . -p deploy_local.yml",
                command,
            ],
            tmp_path,
            {
                "VMREPL_REPORT_DIR": str(evidence / "reports"),
                "VMREPL_AUDIT_LOG": str(evidence / "audit.jsonl"),
            },
        )
        [line] = [json.loads(a) for a in (evidence / "audit.jsonl").read_text().splitlines()]
        assert (line["operation"], line["request_ref"], line["result"]) == (
            "local_recovery",
            "CHG-HEADER",
            "succeeded",
        ), line
        [report] = [
            doc
            for doc in (json.loads(p.read_text()) for p in (evidence / "reports").glob("*.json"))
            if doc.get("operation") == "local_recovery"
        ]
        [row] = report["vpgs"]
        assert (row["vpg"], row["status"]) == (VPG, "succeeded"), row
        assert row["checkpoint"]["chosen_by"].startswith("point in time 20"), row["checkpoint"]
    finally:
        manager.down(tmp_path / "lab")


def test_the_upgrade_header_command_runs_as_written(tmp_path: Path) -> None:
    """On a deployed pair whose sites have a newer VRA release: the header's rolling upgrade,
    one host per batch, audited under the ticket."""
    evidence = tmp_path / "evidence"
    try:
        run_lines(
            [
                "vmrepl lab up --deployed --task-seconds 0.3 --boot-seconds 1",
                "ansible-runner run . -p deploy_remote.yml",
                "vmrepl lab vra-release",
                header_command("upgrade.yml"),
            ],
            tmp_path,
            {
                "VMREPL_REPORT_DIR": str(evidence / "reports"),
                "VMREPL_AUDIT_LOG": str(evidence / "audit.jsonl"),
            },
        )
        lines = [json.loads(a) for a in (evidence / "audit.jsonl").read_text().splitlines()]
        assert lines and all(line["request_ref"] == "CHG-HEADER" for line in lines), lines
        upgrades = [line for line in lines if line["operation"] == "vra_upgrade"]
        assert upgrades and all(": succeeded - " in line["result"] for line in upgrades), upgrades
    finally:
        manager.down(tmp_path / "lab")
