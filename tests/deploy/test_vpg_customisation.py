"""vpg.yml: customised VPGs on the customer's request - refused without a request reference,
regrouped VMs with other settings, idempotent, one audit line per run."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

REQUEST = {
    "vpg_request_ref": "CHG0042",
    "vpg_definitions": [
        {"name": "100001-7-default", "vms": ["DC0_C0_RP0_VM0"]},
        {
            "name": "100001-1-web",
            "vms": ["DC0_C0_RP0_VM1"],
            "journal_history_hours": 24,
            "rpo_alert_seconds": 120,
            "priority": "High",
            "recovery_cluster": "DC0_C0",
            "recovery_datastore": "LocalDS_1",
            "journal_datastore": "LocalDS_1",
            "failover_network": "VM Network",
            "test_network": "DC0_DVPG0",
        },
    ],
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("vpg-lab")
    started = start_lab(directory)
    try:
        deployed = started.run("deploy_remote.yml")
        assert deployed.status == "successful", failure_messages(deployed)
        yield started
    finally:
        manager.down(directory)


def audit_lines(lab: Lab) -> list[dict]:
    path = lab.directory / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run(lab: Lab, extravars: dict) -> object:
    return lab.run(
        "vpg.yml",
        extravars=extravars,
        envvars={"VMREPL_AUDIT_LOG": str(lab.directory / "audit.jsonl")},
    )


def vpgs(lab: Lab) -> dict[str, dict]:
    with lab.zvm("source") as zvm:
        found = {json_field(v, "VpgName"): v for v in zvm.vpgs()}
        members = {
            name: sorted(json_field(m, "VmName") for m in zvm.vms(vpg_name=name)) for name in found
        }
    return {name: {"vpg": vpg, "vms": members[name]} for name, vpg in found.items()}


def test_without_a_request_reference_nothing_changes_and_the_refusal_is_logged(lab: Lab) -> None:
    def shape() -> dict:  # what the run could change; live figures (RPO) move on their own
        return {
            name: (g["vms"], json_field(g["vpg"], "ConfiguredRpoSeconds"))
            for name, g in vpgs(lab).items()
        }

    before = shape()
    result = run(lab, {**REQUEST, "vpg_request_ref": ""})
    assert result.status == "failed"  # type: ignore[attr-defined]
    assert "request reference" in " ".join(failure_messages(result))  # type: ignore[arg-type]
    assert shape() == before
    last = audit_lines(lab)[-1]
    assert last["operation"] == "vpg_customisation"
    assert last["result"].startswith("refused")


def test_vms_are_regrouped_with_their_own_settings_and_a_second_run_changes_nothing(
    lab: Lab,
) -> None:
    result = run(lab, REQUEST)
    assert result.status == "successful", failure_messages(result)  # type: ignore[attr-defined,arg-type]
    groups = vpgs(lab)
    assert groups["100001-7-default"]["vms"] == ["DC0_C0_RP0_VM0"]
    assert groups["100001-1-web"]["vms"] == ["DC0_C0_RP0_VM1"]
    assert json_field(groups["100001-1-web"]["vpg"], "ConfiguredRpoSeconds") == 120
    line = audit_lines(lab)[-1]
    assert (line["request_ref"], line["result"]) == ("CHG0042", "succeeded")
    assert line["vpgs"] == ["100001-7-default", "100001-1-web"]

    again = run(lab, REQUEST)
    assert again.status == "successful"  # type: ignore[attr-defined]
    assert again.count("changed") == 0, again.stats  # type: ignore[attr-defined]
    assert len(audit_lines(lab)) == 3  # every run is logged, the refused one too
