"""Testing and recovery on a deployed local-edition site: a failover test, a local recovery in
place to a point in time, and the remote-only operations refused before any call."""

from __future__ import annotations

import datetime as dt

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages
from tests.recovery.conftest import (
    LAB_VMS,
    VPG,
    audit_lines,
    customer_vms,
    lab_request,
    last_report,
    module_tasks,
    run,
    vpg,
)

pytestmark = pytest.mark.lab


def test_a_failover_test_in_the_local_edition(local_site: Lab) -> None:
    result = run(local_site, "failover_test.yml", recovery_request_ref="CHG-L1")
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(local_site.directory, "failover_test")["vpgs"]
    assert (row["status"], row["site"], row["recovery_site"]) == ("succeeded", "local", "local")
    assert {tuple(vm["networks"]) for vm in row["vms"]} == {("vmrepl-bubble",)}
    assert [n for n, _ in customer_vms(local_site, "local") if "testing recovery" in n] == []


@pytest.mark.parametrize("playbook", ["failover.yml", "move.yml", "failback.yml"])
def test_remote_operations_are_refused_before_any_call(local_site: Lab, playbook: str) -> None:
    lab_request(local_site, "local", "DELETE", "/lab/contract")
    result = run(
        local_site, playbook, recovery_request_ref="CHG-L-" + playbook, recovery_confirm=True
    )
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "not applicable to the local edition" in messages, messages
    assert "vmrepl.core.vpg_recovery" not in module_tasks(result)
    assert lab_request(local_site, "local", "GET", "/lab/contract")["requests_checked"] == []
    line = audit_lines(local_site.directory)[-1]
    assert line["request_ref"] == "CHG-L-" + playbook
    assert line["result"].startswith("refused: ") and line["edition"] == "local"


def test_pairing_is_refused_in_the_local_edition(local_site: Lab) -> None:
    result = local_site.run("pair_sites.yml")
    assert result.status == "failed"
    assert "not applicable to the local edition" in " ".join(failure_messages(result))


def test_a_local_recovery_in_place_needs_confirmation(local_site: Lab) -> None:
    result = run(local_site, "local_recovery.yml", recovery_request_ref="CHG-L2")
    assert result.status == "failed"
    assert "confirm it explicitly" in " ".join(failure_messages(result))
    assert audit_lines(local_site.directory)[-1]["result"].startswith("refused: ")


def test_a_local_recovery_in_place_to_a_point_in_time(local_site: Lab) -> None:
    point = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = run(
        local_site,
        "local_recovery.yml",
        recovery_request_ref="CHG-L3",
        recovery_confirm=True,
        recovery_point_in_time=point,
    )
    assert result.status == "successful", failure_messages(result)
    [row] = last_report(local_site.directory, "local_recovery")["vpgs"]
    assert (row["status"], row["commit"]) == ("succeeded", "committed")
    assert row["checkpoint"]["chosen_by"] == f"point in time {point}"
    assert row["checkpoint"]["time"] <= point.replace("Z", ".999Z")
    assert isinstance(row["rto_seconds"], float)
    # in place: the recovered copies run, the VMs they replace are kept off as their replicas
    assert customer_vms(local_site, "local") == sorted(
        [(name, "poweredOff") for name in LAB_VMS] + [(name, "poweredOn") for name in LAB_VMS]
    )
    current = vpg(local_site, "local")
    assert json_field(current, "Status") != 8  # still protected, not just recovered
    line = audit_lines(local_site.directory)[-1]
    assert (line["operation"], line["request_ref"], line["result"]) == (
        "local_recovery",
        "CHG-L3",
        "succeeded",
    )
    assert line["checkpoint"][VPG]["identifier"] == row["checkpoint"]["identifier"]
