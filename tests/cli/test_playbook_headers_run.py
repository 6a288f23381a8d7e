"""The commands the playbooks' header comments show, run as written (the placeholders filled
with the lab's values) in a checkout of their own against a lab of their own: the remote
edition's deployment, health, failover test, move, failback, failover, and a customised VPG.
(tests/unit/test_playbook_headers.py checks how every one of them is split and that it names
real variables.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_readme_commands import run_lines
from vmrepl.lab import manager
from vmrepl.lab.vcsim import REPO_ROOT

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


def header_command(playbook: str) -> str:
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
    for placeholder, value in FILLED.items():
        command = command.replace(placeholder, value)
    assert "<" not in command, command
    return command


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
