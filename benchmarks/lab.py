"""The lab the benchmarks measure: two sites with their ZVMs deployed, and deploy_remote run."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vmrepl.lab import manager
from vmrepl.runner import run_playbook


class DeployFailed(RuntimeError):
    """deploy_remote.yml did not end successful: there is nothing to measure."""


@contextlib.contextmanager
def deployed_lab(prefix: str, deploy: bool = True) -> Iterator[dict[str, Any]]:
    """A remote lab in a new folder (``prefix``), its ZVMs deployed (1 s boot, 0.3 s tasks),
    with the real ``deploy_remote.yml`` run on it unless ``deploy`` is False (VRAs, pairing,
    the default VPG); yields the lab's state and stops every lab process by pid on the way out."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        state, _ = manager.up(
            manager.LabSpec(edition="remote", deployed=True, task_seconds=0.3, boot_seconds=1.0),
            directory,
        )
        if deploy:
            result = run_playbook(
                "deploy_remote.yml",
                envvars={"VMREPL_LAB_DIR": str(directory)},
                artifact_dir=directory / "artifacts",
            )
            if result.status != "successful":
                raise DeployFailed(f"deploy_remote.yml: {result.status} (see {directory})")
        yield state
    finally:
        manager.down(directory)
