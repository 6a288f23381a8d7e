"""What the sizing lab tests share: run ``vmrepl size`` against a lab, read vcsim's call
counts, read the samples with pyVmomi on their own, and recompute the report from them with
numpy (an implementation of the percentiles other than ours)."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pyVmomi import vim

from tests.deploy.conftest import Lab
from vmrepl.paths import CHECKOUT as REPO_ROOT

VMREPL = str(Path(sys.executable).with_name("vmrepl"))


def vmrepl(lab: Lab, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env |= {
        "VMREPL_LAB_DIR": str(lab.directory),
        "VMREPL_ARTIFACT_DIR": str(lab.directory / "artifacts"),
    }
    done = subprocess.run(
        [VMREPL, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False
    )
    if check:
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def calls(lab: Lab, site: str, reset: bool = False) -> dict[str, int]:
    """vcsim's SOAP calls by method since the last reset (``-count-calls``), once they stop
    moving (vcsim counts them from its trace, read through a pipe)."""
    counted = _calls(lab, site, reset)
    while not reset:
        time.sleep(0.3)
        again = _calls(lab, site)
        if again == counted:
            break
        counted = again
    return counted


def _calls(lab: Lab, site: str, reset: bool = False) -> dict[str, int]:
    vc = lab.site(site)["vcenter"]
    request = urllib.request.Request(
        f"https://{vc['host']}:{vc['port']}/vmrepl/calls", method="DELETE" if reset else "GET"
    )
    context = ssl.create_default_context(cafile=vc["ca_file"])
    with urllib.request.urlopen(request, context=context) as response:
        return dict(json.loads(response.read()))


def read_samples(lab: Lab, doc: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """The report's VMs' disk.write.average over the report's window and interval, read with
    pyVmomi directly (one QueryPerf per VM: this test is not about economy)."""
    source = doc["source"]
    start = dt.datetime.fromisoformat(source["start"])
    end = dt.datetime.fromisoformat(source["end"])
    names = {vm["name"] for vm in doc["vms"]}
    with lab.vcenter("source") as vc:
        manager = vc.content.perfManager
        [counter] = [
            c
            for c in manager.perfCounter
            if (c.groupInfo.key, c.nameInfo.key, c.rollupType) == ("disk", "write", "average")
        ]
        view = vc.content.viewManager.CreateContainerView(
            vc.content.rootFolder, [vim.VirtualMachine], True
        )
        vms = [vm for vm in view.view if vm.name in names]
        view.DestroyView()
        found = {}
        for vm in vms:
            [metrics] = manager.QueryPerf(
                querySpec=[
                    vim.PerformanceManager.QuerySpec(
                        entity=vm,
                        metricId=[
                            vim.PerformanceManager.MetricId(counterId=counter.key, instance="")
                        ],
                        intervalId=source["interval"]["sampling_period_seconds"],
                        startTime=start,
                        endTime=end,
                    )
                ]
            )
            times = [int(i.timestamp.timestamp()) for i in metrics.sampleInfo]
            found[vm.name] = list(zip(times, map(float, metrics.value[0].value), strict=True))
    return found


def disk_counts(lab: Lab, names: set[str], site: str = "source") -> dict[str, int]:
    """The virtual disks of each named VM, read with pyVmomi directly."""
    with lab.vcenter(site) as vc:
        view = vc.content.viewManager.CreateContainerView(
            vc.content.rootFolder, [vim.VirtualMachine], True
        )
        found = {
            vm.name: sum(
                isinstance(d, vim.vm.device.VirtualDisk) for d in vm.config.hardware.device
            )
            for vm in view.view
            if vm.name in names
        }
        view.DestroyView()
    return found


def target_capacity(lab: Lab, site: str, cluster: str, datastores: list[str]) -> dict[str, Any]:
    """The recovery cluster's hosts (cores, memory bytes) and the datastores' free bytes."""
    with lab.vcenter(site) as vc:
        view = vc.content.viewManager.CreateContainerView(
            vc.content.rootFolder, [vim.ClusterComputeResource], True
        )
        [found] = [c for c in view.view if c.name == cluster]
        view.DestroyView()
        hosts = [
            (h.summary.hardware.numCpuCores, h.summary.hardware.memorySize) for h in found.host
        ]
        free = sum(d.summary.freeSpace for d in found.datastore if d.name in datastores)
    return {"hosts": hosts, "free": free}


def recompute(
    doc: dict[str, Any],
    samples: dict[str, list[tuple[int, float]]],
    capacity: dict[str, Any] | None,
) -> None:
    """Every figure of the report, recomputed from the samples, compared."""
    p = doc["parameters"]
    history = p["history_hours"]
    approx = pytest.approx
    limits = 0.0
    scratch = 0.0
    journals = 0.0
    by_vpg: dict[str, float] = {}
    assert sorted(samples) == sorted(vm["name"] for vm in doc["vms"])
    for vm in doc["vms"]:
        points = samples[vm["name"]]
        rates = np.array([v for _, v in points])
        assert vm["samples"] == len(points) >= 24 * 3600 / vm["interval_seconds"]
        assert vm["samples_raw"]["write_kbps"] == [v for _, v in points]
        assert vm["mean_write_kbps"] == approx(rates.mean(), rel=1e-6)
        assert vm["p95_write_kbps"] == approx(np.percentile(rates, 95), rel=1e-6)
        assert vm["p98_write_kbps"] == approx(np.percentile(rates, 98), rel=1e-6)
        assert vm["peak_write_kbps"] == rates.max()
        # SI: KB/s * s = KB; / 10^6 = GB
        journal = (
            rates.mean() * history * 3600 / 1e6 * {0: 1, 50: 0.5, 70: 0.3}[p["journal_compression"]]
        )
        assert vm["journal_gb"] == approx(journal, rel=1e-6)
        limit = min(max(journal, 8.0), p["journal_hard_limit_gb"])
        assert vm["journal_limit_gb"] == approx(limit, rel=1e-6)
        assert vm["exceeds_hard_limit"] == (journal > p["journal_hard_limit_gb"])
        assert vm["scratch_gb"] == approx(limit, rel=1e-6)
        journals += journal
        limits += limit
        scratch += limit
        by_vpg[vm["vpg"]] = by_vpg.get(vm["vpg"], 0.0) + limit
    assert doc["journal_total_gb"] == approx(journals, rel=1e-6)
    assert doc["journal_limit_total_gb"] == approx(limits, rel=1e-6)
    assert {v["name"]: v["journal_limit_gb"] for v in doc["vpgs"]} == approx(by_vpg, rel=1e-6)
    # WAN: the sum of every VM's rate at each sample time, in Mb/s (KB/s * 8 / 1000)
    totals: dict[int, float] = {}
    for points in samples.values():
        for t, v in points:
            totals[t] = totals.get(t, 0.0) + v
    wan = np.array([totals[t] for t in sorted(totals)]) * 8 / 1000
    assert doc["wan"]["p95"] == approx(np.percentile(wan, 95), rel=1e-5)
    assert doc["wan"]["p98"] == approx(np.percentile(wan, 98), rel=1e-5)
    assert doc["wan"]["peak"] == approx(wan.max(), rel=1e-5)
    factor = {0: 1, 50: 0.5, 70: 0.3}
    for pct, f in factor.items():
        assert doc["wan"]["compression_scenarios_mbps"][str(pct)] == approx(
            np.percentile(wan, 98) * f, rel=1e-5
        )
    sized = max(np.percentile(wan, 98) * factor[p["wan_compression"]], 5.0)
    assert doc["wan_mbps"] == approx(sized, rel=1e-5)
    storage = sum(vm["storage_gb"] for vm in doc["vms"])
    link = p["link_mbps"] or sized
    assert doc["initial_sync"]["hours"] == approx(
        storage * 8000 / (link * p["link_efficiency"]) / 3600, rel=1e-5, abs=1e-9
    )
    if capacity is None:
        return
    target = doc["target"]
    hosts = sorted(capacity["hosts"], key=lambda h: (h[1], h[0]), reverse=True)[p["hosts_down"] :]
    have = {
        "vcpus": sum(c for c, _ in hosts) * p["vcpus_per_core"],
        "memory_gb": sum(m for _, m in hosts) / 1e9 * p["ram_ratio"],
        "storage_gb": capacity["free"] / 1e9,
    }
    need = {
        "vcpus": sum(vm["vcpus"] for vm in doc["vms"]) + p["vra_vcpus"] * len(hosts),
        "memory_gb": sum(vm["memory_gb"] for vm in doc["vms"]) + p["vra_memory_gb"] * len(hosts),
        "storage_gb": storage + limits + scratch,
    }
    assert target["capacity"] == approx(have, rel=1e-5)
    assert target["need"] == approx(need, rel=1e-5)
    short = {k: need[k] - have[k] for k in need if need[k] > have[k]}
    assert target["short"] == approx(short, rel=1e-5)
    assert target["fits"] == (not short)
    assert not math.isnan(doc["wan_mbps"])
