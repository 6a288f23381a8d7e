"""One deployed lab for the operate lab tests: ZVMs, VRAs, pairing and the default VPG
(deploy_remote.yml), and how to cut and heal the link between its sites."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import VMREPL, Run
from tests.deploy.conftest import Lab, start_lab
from vmrepl.lab import manager

VPG = "100001-7-default"


@pytest.fixture(scope="package")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("operate-lab")
    lab = start_lab(directory, deployed=True)
    try:
        result = lab.run("deploy_remote.yml")
        assert result.status == "successful", result.status
        yield lab
    finally:
        manager.down(directory)


def env_of(lab: Lab) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMREPL_", "ANSIBLE_"))}
    return env | {
        "VMREPL_LAB_DIR": str(lab.directory),
        "VMREPL_ARTIFACT_DIR": str(lab.directory / "artifacts"),
        "VMREPL_REPORT_DIR": str(lab.directory / "reports"),
    }


def vmrepl(lab: Lab, *args: str, timeout: float = 300) -> Run:
    done = subprocess.run(
        [VMREPL, *args],
        env=env_of(lab),
        cwd=lab.directory,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def wait_for(check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.5)


def vpg_status(lab: Lab, site: str = "source") -> int:
    with lab.zvm(site) as zvm:
        [vpg] = [v for v in zvm.vpgs() if v["VpgName"] == VPG]
        return int(vpg["Status"])


def set_link(lab: Lab, state: str) -> None:
    """Cut (``cut``) or heal (``up``) the link, at both sites, and wait for the VPG."""
    for site in ("source", "target"):
        lab.admin(site, "/lab/faults", {"peer_link": state})
    if state == "cut":
        wait_for(lambda: vpg_status(lab) != 1 and vpg_status(lab, "target") != 1)
    else:
        wait_for(lambda: vpg_status(lab) == 1 and vpg_status(lab, "target") == 1, timeout=120)
        wait_for(lambda: not _alerts_on(lab))


def _alerts_on(lab: Lab) -> list[Any]:
    found = []
    for site in ("source", "target"):
        with lab.zvm(site) as zvm:
            found += zvm.alerts(is_dismissed=False)
    return found


@pytest.fixture
def link(deployed: Lab) -> Iterator[Callable[[str], None]]:
    """``link("cut")`` / ``link("up")``; healed at the end of the test whatever happened."""
    yield lambda state: set_link(deployed, state)
    set_link(deployed, "up")


def archive_texts(path: Path) -> dict[str, str]:
    import tarfile

    with tarfile.open(path) as tar:
        return {
            m.name.split("/", 1)[1]: tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }
