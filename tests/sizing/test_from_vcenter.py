"""`vmrepl size --from-vcenter` on the lab: the report recomputed from the samples read
independently, the QueryPerf calls counted by vcsim, the HTML report in headless Chromium, and
a recovery cluster too small for a failover."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.conftest import Lab, start_lab
from tests.recovery.conftest import dump_dom
from tests.sizing.helpers import (
    calls,
    disk_counts,
    read_samples,
    recompute,
    target_capacity,
    vmrepl,
)
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

#: VMs per resource pool of the lab: more than one QueryPerf batch (64).
VMS = 70


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("sizing")
    started = start_lab(directory, vms=VMS, count_calls=True)
    try:
        yield started
    finally:
        manager.down(directory)


def test_the_default_vpg_is_sized_from_vcenter_and_every_figure_recomputes(
    lab: Lab, tmp_path: Path
) -> None:
    html = tmp_path / "sizing.html"
    calls(lab, "source", reset=True)
    done = vmrepl(lab, "size", "--from-vcenter", "--output", "json", "--html", str(html))
    counted = calls(lab, "source")
    doc = json.loads(done.stdout)
    assert doc["status"] == "successful"
    names = [vm["name"] for vm in doc["vms"]]
    assert names == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]  # the inventory's default_vpg_vms
    assert all(vm["journal_gb"] > 0 and vm["p98_write_kbps"] > 0 for vm in doc["vms"])
    assert doc["source"]["interval"]["level"] >= 2
    assert doc["source"]["interval"]["sampling_period_seconds"] == 300  # past day
    assert counted["QueryPerf"] == 1
    samples = read_samples(lab, doc)
    capacity = target_capacity(lab, "target", "DC0_C0", ["LocalDS_1"])
    recompute(doc, samples, capacity)
    assert doc["target"]["fits"] is True and doc["target"]["short"] == {}
    # VRA volumes: each VM's disks (as pyVmomi reads them) and its journal, on the hosts left.
    disks = disk_counts(lab, set(names))
    volumes = doc["target"]["vra_volumes"]
    assert volumes["total"] == sum(n + 1 for n in disks.values()) and min(disks.values()) >= 1
    assert [h["host"] for h in volumes["per_host"]] == doc["target"]["hosts_counted"]
    assert sum(h["volumes"] for h in volumes["per_host"]) == volumes["total"]
    assert volumes["within_limit"] and volumes["over_limit"] == [] and volumes["vms_unknown"] == []

    dom = dump_dom(html)
    for element in ('id="chart-write-rate"', 'id="chart-journal"', 'id="chart-target"'):
        assert element in dom
    assert dom.count("<svg") >= 3
    assert f'<span id="journal-total">{doc["journal_total_gb"]:.1f}</span>' in dom
    assert "<b>fits</b>" in dom
    # the P98 line of the chart carries its label
    assert "P98" in dom


def test_every_vm_of_a_cluster_takes_a_handful_of_query_perf_calls(lab: Lab) -> None:
    calls(lab, "source", reset=True)
    done = vmrepl(
        lab,
        "size",
        "--from-vcenter",
        "-o",
        "json",
        "-e",
        'sizing_vpgs=[{"name": "all", "clusters": ["DC0_C0"]}]',
        "-e",
        "sizing_window_hours=48",
    )
    counted = calls(lab, "source")
    doc = json.loads(done.stdout)
    assert len(doc["vms"]) == VMS
    assert doc["source"]["query_perf_calls"] == counted["QueryPerf"] == math.ceil(VMS / 64) == 2
    assert doc["source"]["interval"]["sampling_period_seconds"] == 1800  # past week keeps 48 h
    assert all(vm["samples"] == 96 for vm in doc["vms"])
    recompute(doc, read_samples(lab, doc), None)


def test_csv_output_has_one_row_per_vm(lab: Lab) -> None:
    done = vmrepl(lab, "size", "--from-vcenter", "-o", "csv")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("name,vpg,samples,mean_write_kbps")
    assert [line.split(",")[0] for line in lines[1:]] == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]


def test_a_hard_limit_below_the_journal_is_flagged(lab: Lab) -> None:
    done = vmrepl(
        lab,
        "size",
        "--from-vcenter",
        "-o",
        "json",
        "-e",
        'sizing_parameters={"journal_hard_limit_gb": 8, "history_hours": 720}',
    )
    doc = json.loads(done.stdout)
    assert all(vm["exceeds_hard_limit"] for vm in doc["vms"])
    assert all(vm["history_hours_possible"] < 720 for vm in doc["vms"])
    assert any("history would shrink" in note for note in doc["notes"])
    recompute(doc, read_samples(lab, doc), None)


@pytest.fixture(scope="module")
def small_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One host per site: with one host down, the recovery cluster has none left."""
    directory = tmp_path_factory.mktemp("sizing-small")
    started = start_lab(directory, hosts=1)
    try:
        yield started
    finally:
        manager.down(directory)


def test_a_recovery_cluster_too_small_is_reported_with_the_shortfall(small_lab: Lab) -> None:
    done = vmrepl(small_lab, "size", "--from-vcenter", "-o", "json")
    doc = json.loads(done.stdout)
    target = doc["target"]
    assert target["fits"] is False
    assert target["hosts"] == 1 and target["hosts_counted"] == []
    assert target["capacity"]["vcpus"] == 0 and target["capacity"]["memory_gb"] == 0
    # every protected VM's vCPUs and memory are short (no VRA on a host that is down)
    vcpus = sum(vm["vcpus"] for vm in doc["vms"])
    assert target["short"]["vcpus"] == pytest.approx(vcpus) and vcpus > 0
    assert target["short"]["memory_gb"] == pytest.approx(sum(vm["memory_gb"] for vm in doc["vms"]))
    assert any("does not fit" in note and "vcpus short by" in note for note in doc["notes"])
    capacity = target_capacity(small_lab, "target", "DC0_C0", ["LocalDS_1"])
    recompute(doc, read_samples(small_lab, doc), capacity)
    text = vmrepl(small_lab, "size", "--from-vcenter").stdout
    assert "Failover does NOT fit" in text
    html = small_lab.directory / "small.html"
    vmrepl(small_lab, "size", "--from-vcenter", "-q", "--html", str(html))
    assert "<b>does not fit</b>" in dump_dom(html)
