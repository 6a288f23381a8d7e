"""A deployed site pair for the maintenance tests (one per test module), and what they need:
run a playbook with an audit log of the lab's own, the VRAs and VPGs as the ZVMs report them,
the verdict as the `vmrepl` command gives it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab
from tests.recovery.conftest import deployed
from vmrepl.results import summarise
from vmrepl.runner import RunResult

pytestmark = pytest.mark.lab

VPG = "100001-7-default"
#: quick polls for the lab (its tasks take 0.3 s); never asserted as wall times
FAST = {
    "upgrade_poll_interval": 0.2,
    "upgrade_sla_timeout": 120,
    "host_maintenance_poll_interval": 0.2,
    "host_maintenance_timeout": 120,
}


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A deployed site pair: the default VPG protects the two lab VMs from source to target."""
    yield from deployed(tmp_path_factory.mktemp("maintenance"), "remote")


def run(lab: Lab, playbook: str, check: bool = False, **extravars: Any) -> RunResult:
    env = {"VMREPL_AUDIT_LOG": str(lab.directory / "audit.jsonl")}
    return lab.run(playbook, extravars={**FAST, **extravars}, envvars=env, check=check)


def verdict(result: RunResult) -> tuple[str, str]:
    summary = summarise(result.events, result.status, result.stats)
    return summary.status, summary.reason


def messages(result: RunResult) -> str:
    return "\n".join(
        str(m["msg"]) for m in summarise(result.events, result.status, result.stats).messages
    )


def audit_lines(lab: Lab) -> list[dict[str, Any]]:
    path = lab.directory / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def vras(lab: Lab, site: str) -> dict[str, dict[str, Any]]:
    """The site's VRAs by host name."""
    with lab.zvm(site) as zvm:
        return {str(json_field(v, "HostDisplayName")): v for v in zvm.vras()}


def site_version(lab: Lab, site: str) -> str:
    with lab.zvm(site) as zvm:
        return str(json_field(zvm.local_site(), "Version"))


def vpg(lab: Lab, site: str = "source") -> dict[str, Any]:
    with lab.zvm(site) as zvm:
        return next(v for v in zvm.vpgs() if json_field(v, "VpgName") == VPG)


def upgrade_tasks(lab: Lab, site: str) -> list[dict[str, Any]]:
    with lab.zvm(site) as zvm:
        return sorted(zvm.tasks("UpgradeVra"), key=lambda t: str(json_field(t, "Started")))


def wait_for(check: Any, timeout: float = 60.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"not within {timeout} s: {what}"
        time.sleep(0.3)
