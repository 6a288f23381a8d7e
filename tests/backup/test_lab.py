"""`vmrepl backup-readiness` on a lab site, through the shell block of docs/backup-readiness.md
run line by line as written: the hosts without a proxy found, the plan shown by --check with
nothing changed, the proxies deployed, a second run that changes nothing; a VM whose last
backup is 30 h old and a datastore under 10% flagged CRITICAL; a host in maintenance skipped
and reported; the monitoring plugin's line and exit code. The lab's site is made so with the
lab's knobs (vmrepl.lab.backup) through pyVmomi against vcsim."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.backup import read_site
from tests.deploy.conftest import Lab, start_lab
from vmrepl.lab import backup as knobs
from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

DOC = REPO_ROOT / "docs" / "backup-readiness.md"


def doc_block() -> list[str]:
    """The lines of the document's one ``sh`` block."""
    [block] = re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S)
    return [line for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One site (local edition) of three hosts with its ZVM; DC0_C0_H2 in maintenance, VM0's
    last backup 30 h ago (NetBackup's format), VM1's 2 h ago (ISO), and the VMs' datastore
    left with 8% free."""
    directory = tmp_path_factory.mktemp("backup-lab")
    started = start_lab(directory, "local", deployed=True, hosts=3)
    try:
        with started.vcenter("local") as vc:
            now = datetime.now(UTC)
            knobs.set_last_backup(
                vc, "DC0_C0_RP0_VM0", knobs.netbackup_value(now - timedelta(hours=30))
            )
            knobs.set_last_backup(vc, "DC0_C0_RP0_VM1", (now - timedelta(hours=2)).isoformat())
            knobs.set_maintenance(vc, "DC0_C0_H2", True)
            [ds] = {
                d
                for v in read_site(vc).vms
                if v["name"] == "DC0_C0_RP0_VM1"
                for d in v["datastores"]
            }
            after = knobs.fill_datastore(vc, ds, 8, "DC0_C0_RP0_VM1")
            assert 7.9 < 100 * after["free_bytes"] / after["capacity_bytes"] < 8.1
        yield started
    finally:
        manager.down(directory)


def run_line(line: str, lab: Lab) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env |= {
        "VMREPL_LAB_DIR": str(lab.directory),
        "VMREPL_ARTIFACT_DIR": str(lab.directory / "artifacts"),
    }
    return subprocess.run(
        ["bash", "-c", f". .venv/bin/activate\n{line}"],
        cwd=REPO_ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def proxies(lab: Lab) -> dict[str, tuple[str | None, str]]:
    return {
        v["name"]: (v["host"], v["power"])
        for v in lab.vms("local")
        if v["name"].startswith("backup-proxy-")
    }


def test_the_lab_knobs_hold_and_custom_values_are_read_once(lab: Lab) -> None:
    with lab.vcenter("local") as vc:
        knobs.set_last_backup(vc, "DC0_C0_RP0_VM1", "first")
        knobs.set_last_backup(vc, "DC0_C0_RP0_VM1", "second")  # vcsim 0.24 appends
        [vm] = [
            o
            for o in vc.retrieve(vim.VirtualMachine, ["name", "customValue"])
            if o["name"] == "DC0_C0_RP0_VM1"
        ]
        assert len(vm["customValue"]) >= 2  # what vcsim holds
        site = read_site(vc)
        [read] = [v for v in site.vms if v["name"] == "DC0_C0_RP0_VM1"]
        assert read["custom_attributes"]["NB_LAST_BACKUP"] == "second"
        knobs.set_last_backup(
            vc, "DC0_C0_RP0_VM1", (datetime.now(UTC) - timedelta(hours=2)).isoformat()
        )
        assert site.calls <= 4  # one property read, one for the names (+ view create/destroy)
        assert {h["name"]: h["maintenance_mode"] for h in site.hosts}["DC0_C0_H2"] is True


def test_thresholds_that_cannot_work_are_refused_before_a_deploy(lab: Lab) -> None:
    refused = run_line(
        "vmrepl backup-readiness --deploy -e backup_critical_free_percent=20 --output json", lab
    )
    assert refused.returncode == 2, refused.stdout[-2000:]
    doc = json.loads(refused.stdout)
    assert doc["status"] == "refused"
    assert "backup_critical_free_percent (20.0)" in doc["reason"]
    assert doc["totals"]["changed"] == 0
    assert proxies(lab) == {}  # nothing deployed (this runs before the deploying test)


def test_the_documented_commands_find_deploy_and_flag(lab: Lab) -> None:
    lines = doc_block()
    assert lines == [
        "vmrepl backup-readiness",
        "vmrepl backup-readiness --deploy --check",
        "vmrepl backup-readiness --deploy",
        "vmrepl backup-readiness --deploy --output json",
        "vmrepl backup-readiness --plugin",
    ]
    # 1. Read-only: the hosts in service without a proxy; the host in maintenance apart.
    first = run_line(lines[0], lab)
    assert first.returncode == 1, first.stdout[-3000:]
    out = first.stdout
    assert "Backup readiness of local: CRITICAL" in out
    assert "2 host(s) without a proxy" in out
    assert "skipped local DC0_C0_H2: in maintenance mode" in out
    assert "skipped hypervisor DC0_C0_H2 (local): in maintenance mode" in out  # the summary's
    assert proxies(lab) == {}

    # 2. Check mode shows the plan and changes nothing.
    plan = run_line(lines[1], lab)
    assert plan.returncode == 1, plan.stdout[-3000:]
    assert "Would deploy a backup proxy on DC0_C0_H0, DC0_C0_H1." in plan.stdout
    assert "would deploy local: DC0_C0_H0 (backup-proxy-DC0_C0_H0)" in plan.stdout
    assert proxies(lab) == {}

    # 3. Deploy: a proxy on each host in service, none on the one in maintenance.
    deploy = run_line(lines[2], lab)
    assert deploy.returncode == 1, deploy.stdout[-3000:]  # still CRITICAL: VM0, the datastore
    assert "Deployed a backup proxy on DC0_C0_H0, DC0_C0_H1." in deploy.stdout
    assert proxies(lab) == {
        "backup-proxy-DC0_C0_H0": ("DC0_C0_H0", "poweredOn"),
        "backup-proxy-DC0_C0_H1": ("DC0_C0_H1", "poweredOn"),
    }

    # 4. Again: nothing changes; the report as JSON.
    again = run_line(lines[3], lab)
    assert again.returncode == 1, again.stderr[-3000:]
    doc = json.loads(again.stdout)
    assert doc["totals"]["changed"] == 0
    assert doc["readiness"] == "CRITICAL"
    report = doc["backup"]["local"]
    assert report["hosts_without_proxy"] == []
    assert report["hosts_out_of_service"] == {"DC0_C0_H2": "in maintenance mode"}
    assert {"site": "local", "hypervisor": "DC0_C0_H2", "reason": "in maintenance mode"} in doc[
        "skipped_hypervisors"
    ]
    assert report["replication"] == "counted from the ZVM"
    vms = {v["name"]: v for v in report["vms"]}
    assert set(vms) == {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}  # not the proxies, not the ZVM
    assert vms["DC0_C0_RP0_VM0"]["status"] == "CRITICAL"
    assert 29.9 < vms["DC0_C0_RP0_VM0"]["backup_age_hours"] < 31
    assert "over the 24 h RPO" in vms["DC0_C0_RP0_VM0"]["problems"][0]
    assert vms["DC0_C0_RP0_VM1"]["status"] == "OK"
    [ds] = report["datastores"]
    assert ds["status"] == "CRITICAL" and ds["free_after_replication_percent"] < 10
    assert ds["replication_counted"] is True
    assert {a["vm"] for a in report["advice"]} == {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
    assert all(a["advice"] == "consider VM Replication Local Edition" for a in report["advice"])

    # 5. The monitoring plugin: one line with perfdata, the problems, exit 2 (CRITICAL).
    plugin = run_line(lines[4], lab)
    assert plugin.returncode == 2, plugin.stdout + plugin.stderr[-3000:]
    first_line, *problems = plugin.stdout.splitlines()
    assert first_line.startswith("BACKUP CRITICAL - local: 2 critical")
    perf = first_line.split(" | ", 1)[1]
    assert re.search(rf"'ds_free_{ds['name']}'=[0-9.]+%;15:;10:;0;100", perf), perf
    assert re.search(r"'backup_age_DC0_C0_RP0_VM0'=10[78]\d{3}s;;86400", perf), perf
    assert "'hosts_without_proxy'=0;;0" in perf
    # (30 h when the lab was made, plus the runs' own minutes)
    assert any(
        re.match(r"CRITICAL local DC0_C0_RP0_VM0: last backup 30\.\d h ago", p) for p in problems
    ), problems


def test_the_plugin_refuses_to_deploy_as_unknown(lab: Lab) -> None:
    refused = run_line("vmrepl backup-readiness --plugin --deploy", lab)
    assert refused.returncode == 3
    assert refused.stdout.startswith("BACKUP UNKNOWN - --plugin is read-only")
