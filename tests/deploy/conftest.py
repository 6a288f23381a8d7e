"""A lab per test module, and what tests need to drive it: run a playbook through
ansible-runner, read vCenter and the ZVM, inject faults."""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    ZvmClient,
    ZvmConnectionParams,
)
from vmrepl.lab import manager
from vmrepl.runner import RunResult, run_playbook

pytestmark = pytest.mark.lab


@dataclass
class Lab:
    directory: Path
    state: dict[str, Any]
    runs: list[RunResult] = field(default_factory=list)

    def site(self, name: str) -> dict[str, Any]:
        return next(s for s in self.state["sites"] if s["name"] == name)

    def run(self, playbook: str, **kwargs: Any) -> RunResult:
        artifacts = self.directory / "artifacts" / str(len(self.runs))
        env = {
            "VMREPL_LAB_DIR": str(self.directory),
            "VMREPL_REPORT_DIR": str(self.directory / "reports"),
            **kwargs.pop("envvars", {}),
        }
        result = run_playbook(playbook, envvars=env, artifact_dir=artifacts, **kwargs)
        self.runs.append(result)
        return result

    def vcenter(self, name: str) -> VSphereClient:
        vc = self.site(name)["vcenter"]
        return VSphereClient.connect(
            VSphereConnectionParams(
                vc["host"], vc["username"], vc["password"], port=vc["port"], ca_file=vc["ca_file"]
            )
        )

    def zvm(self, name: str) -> ZvmClient:
        zvm = self.site(name)["zvm"]
        return ZvmClient(
            ZvmConnectionParams(
                zvm["url"], zvm["username"], zvm["password"], ca_file=zvm["ca_file"]
            )
        )

    def vms(self, name: str) -> list[dict[str, Any]]:
        """Every VM of a site's vCenter: name, host name, power state."""
        with self.vcenter(name) as vc:
            hosts = {h.moid: h["name"] for h in vc.retrieve(vim.HostSystem, ["name"])}
            return [
                {
                    "name": v["name"],
                    "host": hosts.get(v["runtime.host"]._moId) if v["runtime.host"] else None,
                    "power": str(v["runtime.powerState"]),
                }
                for v in vc.retrieve(
                    vim.VirtualMachine, ["name", "runtime.host", "runtime.powerState"]
                )
            ]

    def admin(
        self, name: str, path: str, body: dict[str, Any] | None = None, method: str | None = None
    ) -> Any:
        """A call to the site's lab endpoints (``/lab/...``): POST with a body, else GET."""
        zvm = self.site(name)["zvm"]
        context = ssl.create_default_context(cafile=zvm["ca_file"])
        request = urllib.request.Request(
            zvm["url"] + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method or ("POST" if body is not None else "GET"),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, context=context) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def secrets(self) -> list[str]:
        """Every password and licence key of the lab."""
        return [s[k]["password"] for s in self.state["sites"] for k in ("vcenter", "zvm")] + [
            s["zvm"]["license_key"] for s in self.state["sites"]
        ]


def start_lab(
    directory: Path, edition: str = "remote", *, deployed: bool = False, **spec: Any
) -> Lab:
    """A lab as a new customer's sites are (bare: no ZVM answers until the deployment has
    deployed its appliance), or ``deployed`` (ZVMs installed and licensed, nothing else)."""
    spec = {"task_seconds": 0.3, "boot_seconds": 1.0, **spec}
    state, _ = manager.up(manager.LabSpec(edition=edition, deployed=deployed, **spec), directory)
    return Lab(directory, state)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """ZVMs deployed and licensed (the bare start has tests of its own: test_deploy_bare)."""
    directory = tmp_path_factory.mktemp("lab")
    started = start_lab(directory, deployed=True)
    try:
        yield started
    finally:
        manager.down(directory)


@pytest.fixture(scope="module")
def paired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A pair deployed by deploy_remote.yml: VRAs, pairing, the default VPG protecting the
    customer's VMs."""
    directory = tmp_path_factory.mktemp("paired-lab")
    started = start_lab(directory, deployed=True)
    try:
        deployed = started.run("deploy_remote.yml")
        assert deployed.status == "successful", failure_messages(deployed)
        yield started
    finally:
        manager.down(directory)


def text_of(result: RunResult) -> str:
    """Everything a run printed and wrote into its artifacts."""
    parts = []
    for path in result.artifact_dir.rglob("*"):
        if path.is_file():
            parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def failure_messages(result: RunResult) -> list[str]:
    """The messages of failed tasks, and of the failed items of failed loops."""
    messages = []
    for event in result.events:
        if event.get("event") != "runner_on_failed":
            continue
        res = event["event_data"].get("res", {})
        messages.append(str(res.get("msg", "")))
        messages += [
            str(item.get("msg", "")) for item in res.get("results", []) if item.get("failed")
        ]
    return messages
