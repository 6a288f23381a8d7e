"""The vmrepl command as users and pipelines run it: a real process against a real lab."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import Lab, start_lab
from vmrepl.lab import manager

#: The console script of this environment (what `pip install` gives users).
VMREPL = shutil.which("vmrepl", path=str(Path(sys.executable).parent)) or "vmrepl"


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.stdout))


class Cli:
    """Runs ``vmrepl`` against one lab, with artifacts and reports in the test's directory."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.env = {
            **os.environ,
            "VMREPL_LAB_DIR": str(lab.directory),
            "VMREPL_ARTIFACT_DIR": str(lab.directory / "artifacts"),
            "VMREPL_REPORT_DIR": str(lab.directory / "reports"),
        }
        for name in ("VMREPL_INVENTORY", "VMREPL_VAULT_PASSWORD", "VMREPL_VAULT_PASSWORD_FILE"):
            self.env.pop(name, None)

    def popen(self, *args: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
        return subprocess.Popen(
            [VMREPL, *args],
            env={**self.env, **(env or {})},
            cwd=kw.pop("cwd", self.lab.directory),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            **kw,
        )

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
        process = self.popen(*args, env=env)
        stdout, stderr = process.communicate(timeout=timeout)
        return Run(process.returncode, stdout, stderr)


@pytest.fixture(scope="package")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One lab for the command's tests (modules that need a fresh one define their own)."""
    directory = tmp_path_factory.mktemp("cli-lab")
    started = start_lab(directory, deployed=True)
    try:
        yield started
    finally:
        manager.down(directory)


@pytest.fixture
def vmrepl(lab: Lab) -> Cli:
    return Cli(lab)
