"""The README's main job, run as written in a checkout of the repository: activate the venv,
start the lab (bare), run deploy_remote.yml with ansible-runner; then again (changed=0), and
the check-mode form the README gives, which changes nothing either."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_readme_first_deployment import copy_of_repository
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

RECAP = re.compile(r"^(\w+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def main_job() -> list[str]:
    text = (REPO_ROOT / "README.md").read_text()
    start = text.index("`make demo` is the main job")
    block = re.search(r"```sh\n(.*?)```", text[start:], re.S)
    assert block
    return [line for line in block.group(1).splitlines() if line.strip()]


def recap(output: str) -> dict[str, tuple[int, int, int]]:
    """Per site: changed, unreachable, failed."""
    return {
        m.group(1): (int(m.group(3)), int(m.group(4)), int(m.group(5)))
        for m in RECAP.finditer(ANSI.sub("", output))
    }


def test_the_readme_main_job_deploys_bare_sites_and_a_second_run_changes_nothing(
    tmp_path: Path,
) -> None:
    lines = main_job()
    assert lines[0] == ". .venv/bin/activate"
    deploy = next(line for line in lines if line.startswith("ansible-runner run ."))
    project = copy_of_repository(tmp_path / "checkout")
    (project / ".venv").symlink_to(REPO_ROOT / ".venv")
    lab_dir = tmp_path / "lab"
    # The checkout's own ansible.cfg, as in a fresh clone (not the test run's).
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env["VMREPL_LAB_DIR"] = str(lab_dir)

    def shell(*commands: str) -> str:
        done = subprocess.run(
            ["bash", "-ec", "\n".join(commands)],  # one line each, as typed
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, (commands, done.stdout[-3000:], done.stderr[-3000:])
        return done.stdout

    try:
        first = shell(*lines)
        assert "Lab up (remote, bare)" in first
        sites = recap(first)
        assert set(sites) == {"source", "target"}
        assert all(changed > 0 and failed == 0 for changed, _, failed in sites.values()), sites

        again = recap(shell(lines[0], deploy))
        assert again == {"source": (0, 0, 0), "target": (0, 0, 0)}, again

        check = recap(shell(lines[0], deploy.split("#")[0].strip() + " --cmdline '--check --diff'"))
        assert check == {"source": (0, 0, 0), "target": (0, 0, 0)}, check
        # The runs kept their artifacts in the checkout, and nothing in env/ changed.
        assert len(list((project / "artifacts").iterdir())) == 3
        for name in ("cmdline", "extravars", "passwords", "settings"):
            assert (project / "env" / name).read_text() == (REPO_ROOT / "env" / name).read_text()
    finally:
        manager.down(lab_dir)
