"""Rolling VRA upgrades and host maintenance on a deployed lab pair, through ansible-runner and
the real simulator and vcsim: a VRA release makes every VRA outdated; a missing reference is
refused before anything changes; check mode prints the batches and changes nothing; an upgrade
task failure stops the roll naming where, and a re-run finishes it (every VRA current, the VPGs
meeting their SLA, batch after batch only once the VPGs were back in SLA); a second run changes
nothing. A host goes into maintenance and back on each side (protected VMs vMotioned, recovery
moved to another VRA), its VPGs in SLA afterwards; a host put into maintenance behind the
playbook's back takes its VPGs out of SLA, as the ZVM would report it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab
from tests.maintenance.conftest import (
    VPG,
    audit_lines,
    messages,
    run,
    site_version,
    upgrade_tasks,
    verdict,
    vpg,
    vras,
    wait_for,
)
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

SITES = ("source", "target")
BITMAP_SECONDS = 2.0


def _time(text: Any) -> float:
    return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()


def _outdated(lab: Lab) -> dict[str, list[str]]:
    return {
        site: sorted(
            host
            for host, vra in vras(lab, site).items()
            if json_field(vra, "VraVersion") != site_version(lab, site)
        )
        for site in SITES
    }


def _tags(lab: Lab) -> list[str]:
    with lab.zvm("source") as zvm:
        vpg_id = str(json_field(vpg(lab), "VpgIdentifier"))
        return [str(json_field(c, "Tag")) for c in zvm.checkpoints(vpg_id) if json_field(c, "Tag")]


def test_a_release_makes_every_vra_outdated(pair: Lab) -> None:
    before = site_version(pair, "source")
    released = manager.vra_release(None, pair.directory)
    assert set(released) == set(SITES)
    for site in SITES:
        now = site_version(pair, site)
        assert now == released[site]["version"] != before
        for vra in vras(pair, site).values():
            assert json_field(vra, "VraVersion") == before
            assert json_field(vra, "UpgradeStatus") == 1
    assert _outdated(pair) == {s: ["DC0_C0_H0", "DC0_C0_H1"] for s in SITES}


def test_an_upgrade_without_its_reference_is_refused_before_any_change(pair: Lab) -> None:
    before = {site: len(upgrade_tasks(pair, site)) for site in SITES}
    result = run(pair, "upgrade.yml", upgrade_request_ref="")
    status, reason = verdict(result)
    assert status == "refused", reason
    assert "upgrade_request_ref" in reason
    assert result.count("changed") == 0
    assert {site: len(upgrade_tasks(pair, site)) for site in SITES} == before
    assert _outdated(pair) == {s: ["DC0_C0_H0", "DC0_C0_H1"] for s in SITES}
    line = audit_lines(pair)[-1]
    assert (line["operation"], line["request_ref"]) == ("vra_upgrade", "")
    assert "refused" in line["result"]


def test_check_mode_prints_the_batches_and_changes_nothing(pair: Lab) -> None:
    result = run(pair, "upgrade.yml", check=True, upgrade_request_ref="CHG-UP-1")
    assert verdict(result)[0] == "successful", verdict(result)
    shown = messages(result)
    for site in SITES:
        assert (
            f"{site}: Would upgrade 2 VRA(s) to {site_version(pair, site)} in 2 batch(es): "
            "batch 1 (DC0_C0_H0); batch 2 (DC0_C0_H1)"
        ) in shown
    assert "pre-upgrade-CHG-UP-1" in shown
    assert all(not upgrade_tasks(pair, site) for site in SITES)
    assert "pre-upgrade-CHG-UP-1" not in _tags(pair)
    assert _outdated(pair) == {s: ["DC0_C0_H0", "DC0_C0_H1"] for s in SITES}


def test_a_failed_upgrade_stops_the_roll_where_it_failed_and_a_rerun_finishes(pair: Lab) -> None:
    for site in SITES:
        pair.admin(site, "/lab/faults", {"task_seconds": {"bitmap_sync": BITMAP_SECONDS}})
    pair.admin("source", "/lab/faults", {"fail_vra_upgrade": ["DC0_C0_H1"]})
    stopped = run(pair, "upgrade.yml", upgrade_request_ref="CHG-UP-2")
    status, reason = verdict(stopped)
    assert status == "incomplete", reason
    assert "stopped at host DC0_C0_H1, batch 2 of 2" in reason
    assert "Upgraded: DC0_C0_H0; left: DC0_C0_H1" in reason
    # the roll stopped at the source site: the target site was not touched
    assert _outdated(pair) == {"source": ["DC0_C0_H1"], "target": ["DC0_C0_H0", "DC0_C0_H1"]}
    assert not upgrade_tasks(pair, "target")
    assert _tags(pair).count("pre-upgrade-CHG-UP-2") == 1

    pair.admin("source", "/lab/faults", {"fail_vra_upgrade": []})
    finished = run(pair, "upgrade.yml", upgrade_request_ref="CHG-UP-2")
    assert verdict(finished) == ("successful", "")
    assert "source: Upgraded 1 VRA(s)" in messages(finished)
    assert "target: Upgraded 2 VRA(s)" in messages(finished)
    assert _outdated(pair) == {"source": [], "target": []}
    for site in SITES:
        assert all(json_field(v, "UpgradeStatus") == 0 for v in vras(pair, site).values())
        current = vpg(pair, site)
        assert (json_field(current, "Status"), json_field(current, "SubStatus")) == (1, 0)
    # one tagged checkpoint for the change, however many runs it took
    assert _tags(pair).count("pre-upgrade-CHG-UP-2") == 1
    # The source's second batch (H1, the one that failed) started only once the VPG was out of
    # the bitmap sync that the first batch's upgrade (H0, which runs a protected VM) began.
    first, second = upgrade_tasks(pair, "source")[:2]
    assert json_field(first, "Status", "State") == 6
    assert json_field(second, "Status", "State") == 4
    first_done = _time(json_field(first, "Completed"))
    assert _time(json_field(second, "Started")) >= first_done + BITMAP_SECONDS * 0.9
    lines = [line for line in audit_lines(pair) if line["request_ref"] == "CHG-UP-2"]
    assert [line["result"].split(" - ")[0] for line in lines] == [
        "source: incomplete",
        "source: succeeded",
        "target: succeeded",
    ]


def test_a_second_run_changes_nothing(pair: Lab) -> None:
    before = {site: len(upgrade_tasks(pair, site)) for site in SITES}
    again = run(pair, "upgrade.yml", upgrade_request_ref="CHG-UP-2")
    assert verdict(again) == ("successful", "")
    assert again.count("changed") == 0, again.stats
    assert {site: len(upgrade_tasks(pair, site)) for site in SITES} == before
    assert "every VRA is at version" in messages(again)


def _host_of(lab: Lab, site: str, vm: str) -> str:
    return next(v["host"] for v in lab.vms(site) if v["name"] == vm)


def _vra_power(lab: Lab, site: str, host: str) -> str:
    return next(v["power"] for v in lab.vms(site) if v["name"] == f"Z-VRA-{host}")


def _alerts(lab: Lab, site: str) -> list[str]:
    with lab.zvm(site) as zvm:
        return [str(json_field(a, "HelpIdentifier")) for a in zvm.alerts()]


def _in_sla(lab: Lab) -> None:
    for site in SITES:
        current = vpg(lab, site)
        assert (json_field(current, "Status"), json_field(current, "SubStatus")) == (1, 0)


def test_a_protected_host_goes_into_maintenance_and_back_with_its_vpgs_in_sla(pair: Lab) -> None:
    host = _host_of(pair, "source", "DC0_C0_RP0_VM0")
    ref = {"host_maintenance_request_ref": "CHG-MAINT-1", "host_maintenance_site": "source"}
    entered = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host=host,
        host_maintenance_state="enter",
        **ref,
    )
    assert verdict(entered) == ("successful", "")
    assert "vMotion DC0_C0_RP0_VM0" in messages(entered)
    assert _host_of(pair, "source", "DC0_C0_RP0_VM0") != host
    assert json_field(vras(pair, "source")[host], "Status") == 9  # HostInMaintenanceMode
    wait_for(lambda: _vra_power(pair, "source", host) == "poweredOff", what="the VRA shut down")
    assert "LAB-VRA-MAINTENANCE" in _alerts(pair, "source")
    _in_sla(pair)  # nothing replicates through the host any more

    again = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host=host,
        host_maintenance_state="enter",
        **ref,
    )
    assert verdict(again) == ("successful", "") and again.count("changed") == 0

    left = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host=host,
        host_maintenance_state="exit",
        **ref,
    )
    assert verdict(left) == ("successful", "")
    assert f"power on Z-VRA-{host}" in messages(left)
    assert _vra_power(pair, "source", host) == "poweredOn"
    assert json_field(vras(pair, "source")[host], "Status") == 0
    assert "LAB-VRA-MAINTENANCE" not in _alerts(pair, "source")
    _in_sla(pair)
    lines = [line for line in audit_lines(pair) if line["request_ref"] == "CHG-MAINT-1"]
    assert [line["operation"] for line in lines] == [
        "host_maintenance_enter",
        "host_maintenance_enter",
        "host_maintenance_exit",
    ]


def test_a_recovery_host_gets_its_vms_another_recovery_vra_first(pair: Lab) -> None:
    # The default VPG recovers to the target's cluster; this customer wants host DC0_C0_H0.
    request = {
        "vpg_request_ref": "CHG-VPG-1",
        "vpg_definitions": [
            {"name": VPG, "vms": ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"], "recovery_host": "DC0_C0_H0"}
        ],
    }
    assert pair.run("vpg.yml", extravars=request).status == "successful"
    with pair.zvm("target") as zvm:
        h0 = str(json_field(vras(pair, "target")["DC0_C0_H0"], "HostIdentifier"))
        recovering = {str(json_field(v, "RecoveryHostIdentifier")) for v in zvm.vms()}
    assert recovering == {h0}
    ref = {"host_maintenance_request_ref": "CHG-MAINT-2", "host_maintenance_site": "target"}

    checked = run(
        pair,
        "host_maintenance.yml",
        check=True,
        host_maintenance_host="DC0_C0_H0",
        host_maintenance_state="enter",
        **ref,
    )
    assert verdict(checked) == ("successful", "")
    assert "Would for host DC0_C0_H0" in messages(checked)
    assert json_field(vras(pair, "target")["DC0_C0_H0"], "Status") == 0  # nothing changed

    entered = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host="DC0_C0_H0",
        host_maintenance_state="enter",
        **ref,
    )
    assert verdict(entered) == ("successful", "")
    assert "recovery VRA of DC0_C0_RP0_VM0 → DC0_C0_H1" in messages(entered)
    h1 = str(json_field(vras(pair, "target")["DC0_C0_H1"], "HostIdentifier"))
    with pair.zvm("target") as zvm:
        assert {str(json_field(v, "RecoveryHostIdentifier")) for v in zvm.vms()} == {h1}
    assert json_field(vras(pair, "target")["DC0_C0_H0"], "Status") == 9
    _in_sla(pair)

    left = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host="DC0_C0_H0",
        host_maintenance_state="exit",
        **ref,
    )
    assert verdict(left) == ("successful", "")
    assert json_field(vras(pair, "target")["DC0_C0_H0"], "Status") == 0
    _in_sla(pair)


def test_maintenance_without_a_site_of_the_pair_is_refused(pair: Lab) -> None:
    result = run(
        pair,
        "host_maintenance.yml",
        host_maintenance_host="DC0_C0_H0",
        host_maintenance_state="enter",
        host_maintenance_request_ref="CHG-MAINT-3",
    )
    status, reason = verdict(result)
    assert status == "refused", reason
    assert "host_maintenance_site" in reason
    assert json_field(vras(pair, "source")["DC0_C0_H0"], "Status") == 0


def test_a_host_entering_maintenance_behind_the_playbook_takes_its_vpgs_out_of_sla(
    pair: Lab,
) -> None:
    """The simulator as the ZVM reports it: the VRA of a host in maintenance mode serves its
    protected VMs no more, the VPG is NotMeetingSLA (BitmapSync) with an alert, then after the
    host exits, a bitmap sync and MeetingSLA again."""
    for site in SITES:
        pair.admin(site, "/lab/faults", {"task_seconds": {"bitmap_sync": BITMAP_SECONDS}})
    host = _host_of(pair, "source", "DC0_C0_RP0_VM0")
    with pair.vcenter("source") as vc:
        ref = next(h.ref for h in vc.retrieve(vim.HostSystem, ["name"]) if h["name"] == host)
        vc.wait_for_task(ref.EnterMaintenanceMode_Task(timeout=0))
    try:
        out = wait_for(
            lambda: (s := vpg(pair, "target")) and json_field(s, "Status") == 2 and s,
            what="the VPG out of SLA",
        )
        assert json_field(out, "SubStatus") == 23  # BitmapSync
        assert json_field(vras(pair, "source")[host], "Status") == 9
        with pair.zvm("source") as zvm:
            alerts = {str(json_field(a, "HelpIdentifier")): a for a in zvm.alerts()}
            events = [str(json_field(e, "Description")) for e in zvm.get("/v1/events")]
        assert "a VRA that serves it is down" in str(json_field(alerts["VPG0010"], "Description"))
        assert "LAB-VRA-MAINTENANCE" in alerts
        assert f"Host {host} entered maintenance mode." in events
        # the protected VM still runs on the host: the VRA waits for it (up to 10 minutes)
        assert _vra_power(pair, "source", host) == "poweredOn"
    finally:
        with pair.vcenter("source") as vc:
            ref = next(h.ref for h in vc.retrieve(vim.HostSystem, ["name"]) if h["name"] == host)
            vc.wait_for_task(ref.ExitMaintenanceMode_Task(timeout=0))
    wait_for(lambda: json_field(vpg(pair, "source"), "SubStatus") == 23, what="the bitmap sync")
    wait_for(
        lambda: (
            (
                json_field(vpg(pair, "source"), "Status"),
                json_field(vpg(pair, "source"), "SubStatus"),
            )
            == (1, 0)
        ),
        what="the VPG back in SLA",
    )


def test_the_simulator_answered_the_maintenance_calls_per_the_schema(pair: Lab) -> None:
    """Every request and response of the VRA and event operations of this module's runs (the
    upgrades, changerecoveryvra, the VRAs in maintenance mode) kept to the OpenAPI schema."""
    for site in SITES:
        contract = pair.admin(site, "/lab/contract")
        ours = [
            v
            for v in contract["violations"]
            if str(v.get("path", "")).startswith(("/v1/vras", "/v1/events"))
        ]
        assert ours == [], ours
        implemented = set(contract["implemented"])
        assert "POST /v1/vras/{vraIdentifier}/changerecoveryvra/execute" in implemented
        assert "PUT /v1/vras/clusters/{clusterIdentifier}" not in implemented
