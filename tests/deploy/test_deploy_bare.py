"""deploy_remote.yml from bare sites, as every new customer's are: no ZVM answers until the
deployment has deployed its appliance; the ZVM boots unlicensed; the sites pair on the
pairing port. Also what goes wrong on the way: a ZVM that never comes up, a wrong licence key,
pairing on the API port, a run killed while the appliance boots."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab, text_of
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

SITES = ("source", "target")


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[Lab]:
    lab = start_lab(tmp_path / "lab")
    try:
        yield lab
    finally:
        manager.down(tmp_path / "lab")


def answers(lab: Lab, site: str) -> bool:
    """Whether anything accepts a connection at the site's ZVM address."""
    url = urlsplit(lab.site(site)["zvm"]["url"])
    try:
        with socket.create_connection((url.hostname, url.port), timeout=2):
            return True
    except OSError:
        return False


def appliances(lab: Lab, site: str) -> list[str]:
    return [vm["name"] for vm in lab.vms(site) if vm["name"].startswith("zvm-")]


def messages(result: object) -> str:
    return " ".join(failure_messages(result))  # type: ignore[arg-type]


def test_check_mode_on_bare_sites_prints_the_whole_plan_and_changes_nothing(bare: Lab) -> None:
    before = {site: lab_vms for site, lab_vms in ((s, bare.vms(s)) for s in SITES)}
    assert not any(answers(bare, site) for site in SITES)

    result = bare.run("deploy_remote.yml", check=True, diff=True)
    assert result.status == "successful", failure_messages(result)
    text = text_of(result)
    assert "Would deploy VM zvm-source" in text and "Would deploy VM zvm-target" in text
    assert "Would apply licence key ********" in text
    assert "DC0_C0_H0 (10.10.1.11)" in text and "DC0_C0_H1 (10.20.1.12)" in text
    pairing_port = bare.site("target")["zvm"]["pairing_port"]
    assert f"Would pair with the target at 127.0.0.1:{pairing_port}" in text
    assert "Would create VPG 100001-7-default protecting DC0_C0_RP0_VM0, DC0_C0_RP0_VM1" in text
    assert result.count("changed") > 0

    assert {site: bare.vms(site) for site in SITES} == before  # no VM, no API write
    assert not any(answers(bare, site) for site in SITES)
    for site in SITES:  # the licence keys are secrets too
        assert bare.site(site)["zvm"]["license_key"] not in text


def test_bare_sites_are_deployed_licensed_and_paired_then_nothing_changes(bare: Lab) -> None:
    first = bare.run("deploy_remote.yml")
    assert first.status == "successful", failure_messages(first)
    for site in SITES:
        assert appliances(bare, site) == [f"zvm-{site}"]
        with bare.zvm(site) as zvm:
            assert (
                json_field(zvm.license(), "Details", "LicenseKey")
                == (bare.site(site)["zvm"]["license_key"])
            )
            peers = zvm.peer_sites()
            assert [json_field(p, "PairingStatus") for p in peers] == [0]
            assert sorted(json_field(v, "HostDisplayName") for v in zvm.vras()) == [
                "DC0_C0_H0",
                "DC0_C0_H1",
            ]
    with bare.zvm("source") as zvm:
        [peer] = zvm.peer_sites()
        assert json_field(peer, "Port") == bare.site("target")["zvm"]["pairing_port"]
        assert [json_field(v, "VpgName") for v in zvm.vpgs()] == ["100001-7-default"]
    text = text_of(first)
    for secret in bare.secrets():
        assert secret not in text

    second = bare.run("deploy_remote.yml")
    assert second.status == "successful", failure_messages(second)
    assert second.count("changed") == 0, second.stats


def test_a_zvm_that_never_comes_up_is_named_with_the_address_waited_on(bare: Lab) -> None:
    # The appliance gets another address than the one the inventory's ZVM URL names.
    result = bare.run(
        "deploy_remote.yml",
        extravars={
            "replication_manager_properties": {"ip_address": "192.0.2.99"},
            "replication_manager_boot_timeout": 6,
        },
    )
    assert result.status == "failed"
    text = messages(result)
    assert "did not answer" in text, text
    for site in SITES:
        assert bare.site(site)["zvm"]["url"] in text, text
        assert appliances(bare, site) == [f"zvm-{site}"]  # deployed, and running
        assert not answers(bare, site)


def test_a_wrong_licence_key_is_refused_and_stops_both_sites(bare: Lab) -> None:
    wrong = "NOT-A-VALID-LICENCE-KEY"
    result = bare.run("deploy_remote.yml", extravars={"vmrepl_zvm_license_key": wrong})
    assert result.status == "failed"
    text = messages(result)
    assert "licence key ********" in text and "vmrepl_zvm_license_key" in text, text
    assert wrong not in text_of(result)
    for site in SITES:
        with bare.zvm(site) as zvm:
            assert json_field(zvm.license(), "Details") is None
            assert zvm.vras() == [] and zvm.peer_sites() == []


def test_pairing_on_the_api_port_fails_saying_the_peer_could_not_be_reached(bare: Lab) -> None:
    api_port = urlsplit(bare.site("target")["zvm"]["url"]).port
    result = bare.run("deploy_remote.yml", extravars={"pairing_port": api_port})
    assert result.status == "failed"
    text = messages(result)
    assert f"127.0.0.1:{api_port}" in text and "reach" in text.lower(), text
    with bare.zvm("source") as zvm:
        assert all(json_field(p, "PairingStatus") != 0 for p in zvm.peer_sites())

    again = bare.run("deploy_remote.yml")  # on the pairing port (the inventory's)
    assert again.status == "successful", failure_messages(again)


def test_a_run_killed_while_the_appliance_boots_is_finished_by_the_next(tmp_path: Path) -> None:
    lab = start_lab(tmp_path / "lab", boot_seconds=8.0)
    try:
        polled = {"at": 0.0}

        def cancel() -> bool:
            """Cancel once the source appliance runs and its ZVM does not answer yet."""
            if time.monotonic() - polled["at"] < 0.5:
                return False
            polled["at"] = time.monotonic()
            try:
                running = [
                    vm
                    for vm in lab.vms("source")
                    if vm["name"] == "zvm-source" and vm["power"] == "poweredOn"
                ]
            except Exception:  # the callback must not raise
                return False
            return bool(running) and not answers(lab, "source")

        killed = lab.run("deploy_remote.yml", cancel_callback=cancel)
        assert killed.status in ("canceled", "failed"), failure_messages(killed)
        assert appliances(lab, "source") == ["zvm-source"]

        again = lab.run("deploy_remote.yml")
        assert again.status == "successful", failure_messages(again)
        for site in SITES:
            assert appliances(lab, site) == [f"zvm-{site}"]  # deployed once
            with lab.zvm(site) as zvm:
                assert [json_field(p, "PairingStatus") for p in zvm.peer_sites()] == [0]
    finally:
        manager.down(tmp_path / "lab")
