"""deploy_remote.yml on the lab through ansible-runner: check mode, deploy, idempotence,
what vCenter and the ZVMs hold afterwards, secrets."""

from __future__ import annotations

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, text_of

pytestmark = pytest.mark.lab

LAB_VMS = {"DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}


def test_check_mode_changes_nothing_not_even_a_transient_object(lab: Lab) -> None:
    for site in ("source", "target"):
        lab.admin(site, "/lab/contract", None, method="DELETE")
    before = {site: lab.vms(site) for site in ("source", "target")}
    result = lab.run("deploy_remote.yml", check=True, diff=True)
    assert result.status == "successful", failure_messages(result)
    assert result.count("changed") > 0  # it says what it would do
    assert {site: lab.vms(site) for site in ("source", "target")} == before
    for site in ("source", "target"):
        with lab.zvm(site) as zvm:
            assert zvm.vras() == [] and zvm.peer_sites() == [] and zvm.vpgs() == []
        # Only reads (and the login) reached the ZVM: no settings object, no VRA, no pairing
        # token.
        operations = lab.admin(site, "/lab/contract")["requests_checked"]
        login = "POST /auth/realms/zerto/protocol/openid-connect/token"
        writes = [op for op in operations if not op.startswith("GET ") and op != login]
        assert operations and writes == [], writes
        assert lab.admin(site, "/lab/state")["settings"] == []


def test_deploy_builds_the_pair_and_a_second_run_changes_nothing(lab: Lab) -> None:
    first = lab.run("deploy_remote.yml")
    assert first.status == "successful", failure_messages(first)
    assert first.count("changed") > 0

    for site in ("source", "target"):
        vms = lab.vms(site)
        vras = {vm["name"]: vm["host"] for vm in vms if vm["name"].startswith("Z-VRA-")}
        assert vras == {"Z-VRA-DC0_C0_H0": "DC0_C0_H0", "Z-VRA-DC0_C0_H1": "DC0_C0_H1"}
        assert [vm["name"] for vm in vms].count(f"zvm-{site}") == 1  # the appliance
        with lab.zvm(site) as zvm:
            assert [json_field(p, "PairingStatus") for p in zvm.peer_sites()] == [0]
            vpgs = zvm.vpgs()
            assert [(json_field(v, "VpgName"), json_field(v, "Status")) for v in vpgs] == [
                ("100001-7-default", 1)
            ]
    with lab.zvm("source") as zvm:
        addresses = sorted(json_field(v, "VraNetworkDataApi", "VraIPAddress") for v in zvm.vras())
        assert addresses == ["10.10.1.11", "10.10.1.12"]
        protected = {json_field(v, "VmName") for v in zvm.vms()}
        assert protected == LAB_VMS

    second = lab.run("deploy_remote.yml")
    assert second.status == "successful", failure_messages(second)
    assert second.count("changed") == 0, second.stats


def test_the_port_matrix_is_written_for_the_network_team(lab: Lab) -> None:
    matrix = (lab.directory / "reports" / "network-requirements-source-target.csv").read_text()
    assert (
        "source VRAs,10.10.1.11-10.10.1.42,target VRAs,10.20.1.11-10.20.1.42,tcp,4007 4008"
        in matrix
    )


def test_no_secret_in_output_or_artifacts(lab: Lab) -> None:
    assert lab.runs, "runs before this test produce the artifacts it reads"
    for result in lab.runs:
        text = text_of(result)
        assert "PLAY RECAP" in text  # the stdout is part of what is read
        for secret in lab.secrets():
            assert secret not in text


def test_a_wrong_password_is_refused_before_any_change(lab: Lab) -> None:
    result = lab.run("deploy_remote.yml", extravars={"vmrepl_zvm_password": "not-the-password"})
    assert result.status == "failed"
    assert result.count("changed") == 0
    messages = " ".join(failure_messages(result))
    assert "refused" in messages.lower() and "password" in messages.lower(), messages
    assert "not-the-password" not in text_of(result)


def test_a_changed_vra_setting_is_edited_in_place_and_shown_in_the_diff(lab: Lab) -> None:
    check = lab.run("deploy_remote.yml", check=True, diff=True, extravars={"vra_memory_gb": 4})
    assert check.status == "successful", failure_messages(check)
    assert "MemoryInGb" in text_of(check)
    with lab.zvm("source") as zvm:
        assert {json_field(v, "MemoryInGB") for v in zvm.vras()} == {
            3
        }  # check mode changed nothing

    edited = lab.run("deploy_remote.yml", extravars={"vra_memory_gb": 4})
    assert edited.status == "successful", failure_messages(edited)
    for site in ("source", "target"):
        with lab.zvm(site) as zvm:
            vras = zvm.vras()
        assert {json_field(v, "MemoryInGB") for v in vras} == {4}
        assert len(vras) == 2  # edited, not reinstalled
    again = lab.run("deploy_remote.yml", extravars={"vra_memory_gb": 4})
    assert again.count("changed") == 0, again.stats
