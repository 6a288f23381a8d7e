"""The commands of backup_readiness.yml's header comment, run as written in a checkout of their
own against a deployed local-edition site of their own whose VMs were backed up an hour ago:
the read-only run fails (CRITICAL: the hypervisors have no backup proxy), the run with
``backup_proxy_deploy=true`` deploys them and passes, and the read-only run then passes and
changes nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.backup import read_site
from tests.cli.test_playbook_headers_run import header_command
from tests.cli.test_readme_commands import run_lines
from tests.deploy.conftest import start_lab
from vmrepl.lab import backup as knobs
from vmrepl.lab import manager
from vmrepl.results import plain

pytestmark = pytest.mark.lab

DEPLOY = "ansible-runner run . -p backup_readiness.yml --cmdline '-e backup_proxy_deploy=true'"


def recap_changed(stdout: str) -> int:
    return sum(int(n) for n in re.findall(r"\bchanged=(\d+)", plain(stdout)))


def test_the_backup_readiness_header_commands_run_as_written(tmp_path: Path) -> None:
    read_only = header_command("backup_readiness.yml")
    assert read_only == "ansible-runner run . -p backup_readiness.yml", read_only
    text = (Path(__file__).resolve().parents[2] / "playbooks" / "backup_readiness.yml").read_text()
    deploy = DEPLOY
    assert f"#   {deploy}\n" in text, "the header's second command, as this test runs it"
    lab = start_lab(tmp_path / "lab", "local", deployed=True)
    try:
        with lab.vcenter("local") as vc:
            an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
            site = read_site(vc)
            for vm in site.vms:
                knobs.set_last_backup(vc, vm["name"], an_hour_ago)
        first, deployed, again = run_lines(
            [read_only, deploy, read_only], tmp_path, returncodes=[2, 0, 0]
        )
        with lab.vcenter("local") as vc:
            proxies = {
                o["name"]: o["runtime.powerState"]
                for o in vc.retrieve(vim.VirtualMachine, ["name", "runtime.powerState"])
                if o["name"].startswith("backup-proxy-")
            }
    finally:
        manager.down(tmp_path / "lab")
    shown = " ".join(plain(first.stdout).split())
    assert "no backup proxy on this hypervisor" in shown, shown[-3000:]
    assert recap_changed(first.stdout) == 0
    assert proxies == {
        "backup-proxy-DC0_C0_H0": "poweredOn",
        "backup-proxy-DC0_C0_H1": "poweredOn",
    }, proxies
    assert recap_changed(deployed.stdout) > 0
    assert recap_changed(again.stdout) == 0, again.stdout[-3000:]
