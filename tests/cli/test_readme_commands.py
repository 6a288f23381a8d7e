"""Every shell block of the README is run by a test, as written: here the full testing and
recovery cycle and the `vmrepl` block, each in a checkout of its own against a lab of its own;
the other blocks by the tests named in RUN_BY. A block that cannot run here says why."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_readme_first_deployment import copy_of_repository
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

#: Blocks run by other tests, by their first line.
RUN_BY = {
    ". .venv/bin/activate": "tests/cli/test_readme_main_job.py",
    "cp -r inventories/example": "tests/cli/test_readme_first_deployment.py",
    "vmrepl pair --output json": "tests/cli/test_pipelines.py (the examples' own lines)",
    "vmrepl health\nvmrepl diagnose": "tests/operate/test_health_lab.py (the docs' own lines: "
    "each page's blocks are run as written by tests/operate/test_health_lab.py, "
    "tests/operate/test_docs_commands.py, tests/sizing/test_docs_commands.py, "
    "tests/backup/test_lab.py and tests/maintenance/test_docs_commands.py)",
}
#: Blocks that cannot run here as written, and why.
NOT_HERE = {
    "make demo": "the two commands: make test is this run itself; make demo is the main job's "
    "block (tests/cli/test_readme_main_job.py) after make setup",
    "vmrepl lab up [--edition": "a synopsis with placeholders; tests/lab/test_lab_cli.py runs "
    "each subcommand",
    "ansible-galaxy collection build": "a real customer inventory and vault password (...); "
    "tests/cli/test_packaging.py builds, installs and runs the collection on the lab",
}
#: Blocks this module runs, by their first line.
RUN_HERE = ("vmrepl deploy", "vmrepl lab up\n")


def blocks() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    return [m.group(1) for m in re.finditer(r"```sh\n(.*?)```", text, re.S)]


def block(first_line: str) -> list[str]:
    [found] = [b for b in blocks() if b.startswith(first_line)]
    return [line for line in found.splitlines() if line.strip()]


def test_every_readme_block_is_run_by_a_test_or_says_why_not() -> None:
    for found in blocks():
        known = [k for k in (*RUN_BY, *NOT_HERE, *RUN_HERE) if found.startswith(k)]
        assert len(known) == 1, f"a README block no test runs:\n{found}"
    for path in RUN_BY.values():
        assert (REPO_ROOT / path.split(" ")[0]).is_file(), path
    # The pipeline block is the examples' own lines, which test_pipelines runs.
    examples = "".join(p.read_text() for p in (REPO_ROOT / "examples" / "pipelines").iterdir())
    for line in block("vmrepl pair --output json"):
        assert line in examples, line
    # The operating block is lines of the docs/ pages' own blocks, which their tests run.
    pages = [
        b
        for page in sorted((REPO_ROOT / "docs").glob("*.md"))
        for b in re.findall(r"```sh\n(.*?)```", page.read_text(), re.S)
    ]
    doc_lines = {line for b in pages for line in b.splitlines()}
    for line in block("vmrepl health\nvmrepl diagnose"):
        assert line in doc_lines, line


def run_lines(
    lines: list[str],
    tmp_path: Path,
    extra_env: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
    returncodes: list[int] | None = None,
) -> list:
    """Each line in a shell of its own (as typed, one after the other) in a fresh checkout,
    with the README's activated venv and a lab of the test's own; ``files`` are written into
    the checkout first (name → text). Each line must exit 0, or with its entry of
    ``returncodes`` (a line the docs say fails)."""
    project = copy_of_repository(tmp_path / "checkout")
    (project / ".venv").symlink_to(REPO_ROOT / ".venv")
    for name, text in (files or {}).items():
        (project / name).write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env |= {"VMREPL_LAB_DIR": str(tmp_path / "lab"), **(extra_env or {})}
    done = []
    expected = returncodes or [0] * len(lines)
    assert len(expected) == len(lines)
    for line, returncode in zip(lines, expected, strict=True):
        result = subprocess.run(
            ["bash", "-ec", f". .venv/bin/activate\n{line}"],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == returncode, (line, result.stdout[-3000:], result.stderr[-3000:])
        done.append(result)
    return done


def test_the_readme_cycle_runs_as_written_and_ends_where_it_began(tmp_path: Path) -> None:
    lines = block("vmrepl lab up\n")
    assert [line.split()[4] for line in lines[1:]] == [
        "deploy_remote.yml",
        "failover_test.yml",
        "move.yml",
        "failback.yml",
    ]
    evidence = tmp_path / "evidence"
    try:
        run_lines(
            lines,
            tmp_path,
            {
                "VMREPL_REPORT_DIR": str(evidence / "reports"),
                "VMREPL_AUDIT_LOG": str(evidence / "audit.jsonl"),
            },
        )
        audit = [json.loads(a) for a in (evidence / "audit.jsonl").read_text().splitlines()]
        assert [(a["operation"], a["request_ref"], a["result"]) for a in audit] == [
            ("failover_test", "CHG0012345", "succeeded"),
            ("move", "CHG0012346", "succeeded"),
            ("failback", "CHG0012347", "succeeded"),
        ]
    finally:
        manager.down(tmp_path / "lab")


def test_the_readme_vmrepl_block_runs_as_written(tmp_path: Path) -> None:
    lines = block("vmrepl deploy")
    evidence = tmp_path / "evidence"
    try:
        runs = run_lines(
            lines,
            tmp_path,
            {
                "VMREPL_REPORT_DIR": str(evidence / "reports"),
                "VMREPL_AUDIT_LOG": str(evidence / "audit.jsonl"),
                "VMREPL_ARTIFACT_DIR": str(tmp_path / "artifacts"),
            },
        )
        assert "SUCCESSFUL (exit 0)" in runs[0].stdout
        doc = json.loads(runs[-1].stdout)
        assert (doc["status"], doc["exit_code"]) == ("successful", 0)
        assert doc["recovery"]["result"] == "succeeded"
    finally:
        manager.down(tmp_path / "lab")
