"""`vmrepl size --from-zvm` on a deployed lab: the change rate from the ZVM's counters, the
journal used from the resources report and the RPOs, beside the plan, with a warning on drift;
the report recomputes from its raw samples."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from tests.deploy.conftest import Lab, failure_messages, start_lab
from tests.sizing.helpers import vmrepl
from vmrepl.lab import manager
from vmrepl.lab.zvm.site.statistics import write_rate_mb
from vmrepl.sizing import Parameters, plan
from vmrepl.sizing.report import series_of
from vmrepl.sizing.zvm import resources

pytestmark = pytest.mark.lab

READS, SPACING = 4, 2.0


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("sizing-zvm")
    lab = start_lab(directory)
    try:
        result = lab.run("deploy_remote.yml")
        assert result.status == "successful", failure_messages(result)
        yield lab
    finally:
        manager.down(directory)


def wait_for_resource_samples(lab: Lab, timeout: float = 150) -> list[dict]:
    """The resources report samples every minute (the lab's period): wait for the first."""
    deadline = time.monotonic() + timeout
    client = lab.zvm("source")
    while True:
        found = resources(client)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(2)


def test_a_running_customer_is_sized_from_the_zvm_beside_what_it_measures(
    deployed: Lab,
) -> None:
    samples = wait_for_resource_samples(deployed)
    assert samples, "the resources report has no sample"
    done = vmrepl(
        deployed,
        "size",
        "--from-zvm",
        "-o",
        "json",
        "-e",
        f"sizing_zvm_reads={READS}",
        "-e",
        f"sizing_zvm_spacing_seconds={SPACING}",
        "-e",
        'sizing_parameters={"wan_compression": 70}',
    )
    doc = json.loads(done.stdout)
    assert doc["source"]["kind"] == "zvm" and doc["source"]["reads"] == READS
    assert [vm["name"] for vm in doc["vms"]] == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"]
    with deployed.zvm("source") as client:
        ids = {v["VmName"]: v["VmIdentifier"] for v in client._list(client.get("/v1/vms"))}
    span = SPACING * (READS - 1)
    for vm in doc["vms"]:
        assert vm["samples"] == READS - 1
        # the counters are whole MB: over the reads' span the mean is the VM's rate within 1 MB
        expected = write_rate_mb(ids[vm["name"]]) * 1000
        assert vm["mean_write_kbps"] == pytest.approx(expected, abs=1000 * 1.2 / span)
        assert vm["vcpus"] >= 1
    measured = doc["measured"]
    assert [v["name"] for v in measured["vms"]] == sorted(ids)
    for row in measured["vms"]:
        assert row["journal_used_gb"] >= 0
        assert row["journal_plan_gb"] == next(
            v["journal_limit_gb"] for v in doc["vms"] if v["name"] == row["name"]
        )
    assert measured["rpo"] and all(r["configured_rpo_seconds"] == 300 for r in measured["rpo"])
    wan = sum(write_rate_mb(i) * 0.6 * 8 for i in ids.values())  # the simulator's traffic
    assert measured["wan_mbps"] == pytest.approx(wan, abs=8 * 1.2 / span * len(ids))
    # planned at 70 % WAN compression, the measured 40 % (0.6) is a drift
    assert measured["wan_mbps"] > doc["wan_mbps"] * 1.2
    assert any(w.startswith("drift: the VMs send") for w in measured["warnings"])
    assert any(n.startswith("drift:") for n in doc["notes"])
    # reproducible from the raw samples in the JSON
    again = plan(series_of(doc), Parameters(**doc["parameters"]))
    for key in ("vpgs", "journal_total_gb", "wan", "wan_mbps", "initial_sync"):
        assert again[key] == doc[key], key
    for mine, theirs in zip(again["vms"], doc["vms"], strict=True):
        assert mine == {k: v for k, v in theirs.items() if k != "samples_raw"}
    # the terminal table and the HTML page show the measurement too
    text = vmrepl(deployed, "size", "--from-zvm", "-e", "sizing_zvm_reads=2").stdout
    assert "Measured by the ZVM beside the plan" in text and "RPO" in text


def test_the_resources_report_pages(deployed: Lab) -> None:
    wait_for_resource_samples(deployed)
    client = deployed.zvm("source")
    everything = resources(client)
    paged = resources(client, page_size=1)
    assert paged == everything and len(everything) >= 2
    first = client.get("/v1/reports/resources", {"pageNumber": 1, "pageSize": 1})
    assert len(first) == 1
