"""The pipeline examples run unattended: their `vmrepl` commands, as written, against the lab
(the inventory and the request reference are what a CI variable would give)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.cli.conftest import Cli
from tests.deploy.conftest import Lab, failure_messages
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

EXAMPLES = REPO_ROOT / "examples" / "pipelines"
VPG = "100001-7-default"


def gitlab_commands(doc: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    commands = [
        line
        for name, job in doc.items()
        if isinstance(job, dict) and "script" in job and not name.startswith(".")
        for line in job["script"]
    ]
    return {k: str(v) for k, v in doc.get("variables", {}).items()}, commands


def github_commands(doc: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    env: dict[str, str] = {}
    commands = []
    for job in doc["jobs"].values():
        env |= {k: str(v) for k, v in job.get("env", {}).items()}
        for step in job["steps"]:
            commands += str(step.get("run", "")).splitlines()
    return env, commands


PIPELINES = {
    "gitlab-ci.yml": gitlab_commands,
    "github-failover-test.yml": github_commands,
}


def test_every_example_is_tested() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.yml")) == sorted(PIPELINES)


@pytest.fixture(scope="module")
def deployed(lab: Lab) -> Lab:
    """The pipelines test a deployed pair: deployed here unless an earlier test did."""
    with lab.zvm("source") as zvm:
        done = [json_field(v, "VpgName") for v in zvm.vpgs()] == [VPG] and zvm.peer_sites()
    if not done:
        result = lab.run("deploy_remote.yml")
        assert result.status == "successful", failure_messages(result)
    return lab


@pytest.mark.parametrize("example", sorted(PIPELINES))
def test_the_example_runs_unattended_on_the_lab(
    example: str, deployed: Lab, vmrepl: Cli, tmp_path: Path
) -> None:
    variables, lines = PIPELINES[example](yaml.safe_load((EXAMPLES / example).read_text()))
    commands = [line.strip() for line in lines if line.strip().startswith("vmrepl ")]
    assert [c.split()[1] for c in commands] == ["pair", "test-failover"]

    project = tmp_path / "project"  # the CI job's checkout: outputs land here
    project.mkdir()
    env = {**vmrepl.env, "CI_PROJECT_DIR": str(project)}
    for name, value in variables.items():
        if "${{" not in value:  # GitHub expressions are the CI's secrets and inputs
            env[name] = os.path.expandvars(value.replace("$CI_PROJECT_DIR", str(project)))
    # What the CI's variables give: the site pair (here the lab) and the customer's ticket.
    env |= {
        "VMREPL_INVENTORY": str(REPO_ROOT / "inventories" / "lab"),
        "VMREPL_ACCOUNT_ID": "100001",  # the lab customer's vmrepl_account_id
        "VMREPL_REQUEST_REF": "CHG-4711",
        "VMREPL_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
    }
    for command in commands:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", command],
            cwd=project,
            env=env,
            stdin=subprocess.DEVNULL,  # unattended: no terminal, nothing to answer
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"

    pair = json.loads((project / "pair.json").read_text())
    assert pair["status"] == "successful" and pair["changes"] == []  # already paired
    test = json.loads((project / "failover-test.json").read_text())
    assert test["status"] == "successful", test["reason"]
    assert test["extra_vars"]["recovery_vpgs"] == [VPG]
    assert test["extra_vars"]["recovery_request_ref"] == "CHG-4711"

    junit = project / "reports" / "junit" / "vmrepl-failover-test.xml"
    root = ET.parse(junit).getroot()
    assert int(root.find("testsuite").get("tests", 0)) > 0  # type: ignore[union-attr]
    assert all(s.get("failures") == "0" for s in root.iter("testsuite"))
    # The recovery role's own report (a test case per VPG) is published beside it.
    assert test["recovery"]["result"] == "succeeded"
    report = Path(test["recovery"]["files"]["junit"])
    assert report.parent == project / "reports"
    suites = list(ET.parse(report).getroot().iter("testsuite"))
    assert [s.get("name") for s in suites] == [f"failover_test {VPG}"]
    assert suites[0].get("failures") == "0" and int(suites[0].get("tests", 0)) >= 1
