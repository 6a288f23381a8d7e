"""Every shell block of docs/sizing.md, run as written, line by line, against a lab of its own
(the file example from the docs directory)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.conftest import Lab, start_lab
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

DOC = REPO_ROOT / "docs" / "sizing.md"


def lines() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("sizing-docs")
    started = start_lab(directory)
    try:
        yield started
    finally:
        manager.down(directory)


def test_the_docs_have_the_commands_this_test_runs() -> None:
    assert any(line.startswith("vmrepl size --from-vcenter") for line in lines())
    assert any(line.startswith("vmrepl size docs/") for line in lines())


@pytest.mark.parametrize("line", lines())
def test_each_docs_command_runs_as_written(line: str, lab: Lab, tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    shutil.copy(REPO_ROOT / "docs" / "sizing-rates.csv", tmp_path / "docs")
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env |= {
        "VMREPL_LAB_DIR": str(lab.directory),
        "VMREPL_ARTIFACT_DIR": str(lab.directory / "artifacts"),
        "PATH": f"{Path(sys.executable).parent}:{env['PATH']}",
    }
    done = subprocess.run(
        ["bash", "-ec", line], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    if "--output json" in line:
        doc = json.loads(done.stdout)
        assert doc["vms"] and doc["target"]["fits"] is True
    if "--output csv" in line:
        assert done.stdout.startswith("name,vpg,samples,")
    if "--html" in line:
        assert (tmp_path / "sizing.html").read_text().count("<svg") >= 3
    if line == "vmrepl size docs/sizing-rates.csv":
        assert "db01" in done.stdout and "hard limit" in done.stdout


def test_the_playbook_header_command_runs_as_written(tmp_path: Path) -> None:
    """playbooks/size.yml's header command (ansible-runner), in a checkout of its own."""
    from tests.cli.test_playbook_headers_run import header_command
    from tests.cli.test_readme_commands import run_lines

    command = header_command("size.yml")
    assert command == "ansible-runner run . -p size.yml"
    try:
        [run] = run_lines([command], tmp_path)
        assert "Size from the protected VMs' write rates" in run.stdout
        assert "failed=0" in run.stdout
    finally:
        manager.down(tmp_path / "lab")
