"""Every shell block of docs/operations.md is run as written, on the deployed lab, in its
directory: each line in a shell of its own, with the exit code the document says."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.conftest import Lab
from tests.operate.conftest import env_of
from vmrepl.lab.vcsim import REPO_ROOT

pytestmark = pytest.mark.lab

DOC = REPO_ROOT / "docs" / "operations.md"


def blocks() -> list[str]:
    return [m.group(1) for m in re.finditer(r"```sh\n(.*?)```", DOC.read_text(), re.S)]


def test_every_block_runs_as_written_on_a_healthy_pair(deployed: Lab) -> None:
    lines = [line for b in blocks() for line in b.splitlines() if line.strip()]
    assert len(lines) >= 8
    bin_dir = Path(REPO_ROOT / ".venv" / "bin")
    env = env_of(deployed) | {"PATH": f"{bin_dir}:{env_of(deployed).get('PATH', '')}"}
    outputs = {}
    for line in lines:
        done = subprocess.run(
            ["bash", "-ec", line], cwd=deployed.directory, env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        outputs[line] = done.stdout
    assert outputs["vmrepl health"].startswith("VMREPL OK - ")
    assert json.loads(outputs["vmrepl health --output json"])["status"] == "OK"
    assert "nothing is wrong now" in outputs["vmrepl diagnose"]
    assert "Probable causes:" in outputs["vmrepl diagnose --explain VmreplVpgNotMeetingSla"]
    listed = outputs["tar -tzf support.tar.gz"].splitlines()
    assert any(name.endswith("/sites/source/zvm/vpgs.json") for name in listed)
