"""`vmrepl diagnostics --archive FILE` on a deployed lab: the archive holds what vendor
support asks for, and none of the secrets the lab has (passwords, licence keys)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy.conftest import Lab
from tests.operate.conftest import archive_texts, vmrepl

pytestmark = pytest.mark.lab

ZVM_PARTS = [
    "localsite", "peersites", "vpgs", "vms", "vras", "alerts", "events", "tasks", "license",
    "datastores",
]  # fmt: skip


def test_the_archive_holds_every_part_and_no_secret(
    deployed: Lab, link: Callable[[str], None], tmp_path: Path
) -> None:
    link("cut")  # an incident to diagnose, events and alerts in the window
    archive = tmp_path / "support.tar.gz"
    run = vmrepl(deployed, "diagnostics", "--archive", str(archive), "--since", "2h")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Wrote" in run.stdout and archive.is_file()
    files = archive_texts(archive)
    for site in ("source", "target"):
        for part in ZVM_PARTS:
            assert f"sites/{site}/zvm/{part}.json" in files, part
        for part in ("about", "vra_vms", "hosts"):
            assert f"sites/{site}/vcenter/{part}.json" in files, part
        assert json.loads(files[f"sites/{site}/errors.json"]) == {}
        licence = json.loads(files[f"sites/{site}/zvm/license.json"])
        assert licence["Details"]["LicenseKey"] == "********"
        assert json.loads(files[f"sites/{site}/vcenter/vra_vms.json"])  # the VRA VMs
        events = json.loads(files[f"sites/{site}/zvm/events.json"])
        assert any("ZVM0003 turned on" in e["Description"] for e in events)
    for name in ("versions.json", "runs.json", "diagnose.json", "diagnose.txt", "manifest.json"):
        assert name in files, name
    versions = json.loads(files["versions.json"])
    assert versions["sites"]["source"]["zvm"]["Version"]
    assert versions["sites"]["source"]["vras"] and versions["tools"]["pyvmomi"]
    runs = json.loads(files["runs.json"])["runs"]
    assert any(r["playbook"] and "deploy_remote" in r["playbook"] for r in runs)
    assert json.loads(files["diagnose.json"])["incidents"][0]["id"] == "ZVM0003"
    everything = "\n".join(files.values())
    for secret in deployed.secrets():
        assert secret not in everything
