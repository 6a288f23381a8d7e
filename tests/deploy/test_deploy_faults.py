"""deploy_remote.yml when things go wrong: a VRA install fails on one host, the ZVM answers
503 for a while, a run is killed in the middle of the VRA installs. The faults are injected
into running ZVMs, so these labs start with the ZVMs deployed."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager

pytestmark = pytest.mark.lab


@pytest.fixture
def fresh_lab(tmp_path: Path) -> Iterator[Lab]:
    lab = start_lab(tmp_path / "lab", deployed=True)
    try:
        yield lab
    finally:
        manager.down(tmp_path / "lab")


def vra_vms(lab: Lab, site: str) -> Counter[str]:
    return Counter(vm["host"] for vm in lab.vms(site) if vm["name"].startswith("Z-VRA-"))


def test_a_failed_install_names_the_host_and_the_other_hosts_finish(fresh_lab: Lab) -> None:
    fresh_lab.admin("source", "/lab/faults", {"fail_vra_install": ["DC0_C0_H1"]})

    failed = fresh_lab.run("deploy_remote.yml")
    assert failed.status == "failed"
    message = " ".join(failure_messages(failed))
    assert "DC0_C0_H1" in message and "DC0_C0_H0" not in message, message
    assert vra_vms(fresh_lab, "source") == Counter({"DC0_C0_H0": 1})
    assert vra_vms(fresh_lab, "target") == Counter({"DC0_C0_H0": 1, "DC0_C0_H1": 1})

    fresh_lab.admin("source", "/lab/faults", {"clear": True})
    again = fresh_lab.run("deploy_remote.yml")
    assert again.status == "successful", failure_messages(again)
    assert vra_vms(fresh_lab, "source") == Counter({"DC0_C0_H0": 1, "DC0_C0_H1": 1})


def test_bursts_of_503_are_survived(fresh_lab: Lab) -> None:
    for site in ("source", "target"):
        fresh_lab.admin(site, "/lab/faults", {"unavailable_calls": 3})
    result = fresh_lab.run("pair_sites.yml")
    assert result.status == "successful", failure_messages(result)
    for site in ("source", "target"):
        assert fresh_lab.admin(site, "/lab/faults")["unavailable_calls"] == 0  # all were served
        with fresh_lab.zvm(site) as zvm:
            assert [json_field(p, "PairingStatus") for p in zvm.peer_sites()] == [0]


def test_a_run_killed_during_the_vra_installs_completes_on_the_next_run(fresh_lab: Lab) -> None:
    for site in ("source", "target"):
        fresh_lab.admin(site, "/lab/faults", {"task_seconds": {"vra_install": 20}})
    polled: dict[str, float] = {"at": 0.0}
    errors: list[str] = []

    def cancel() -> bool:
        """Cancel once the source ZVM reports a VRA installing (whatever the machine's speed)."""
        if time.monotonic() - polled["at"] < 0.5:
            return False
        polled["at"] = time.monotonic()
        try:
            with fresh_lab.zvm("source") as zvm:
                return any(json_field(v, "Status") == 3 for v in zvm.vras())
        except Exception as exc:  # the callback must not raise: ansible-runner fails the run
            errors.append(repr(exc))
            return False

    killed = fresh_lab.run("deploy_remote.yml", cancel_callback=cancel)
    # ansible-runner reports a run it stopped as canceled, or failed when the kill signal ended
    # ansible-playbook first; either way the run did not finish.
    assert killed.status in ("canceled", "failed"), (failure_messages(killed), errors)
    assert errors == []
    with fresh_lab.zvm("source") as zvm:
        states = [json_field(v, "Status") for v in zvm.vras()]
    assert 3 in states, states  # left installing by the killed run

    again = fresh_lab.run("deploy_remote.yml")
    assert again.status == "successful", failure_messages(again)
    for site in ("source", "target"):
        assert vra_vms(fresh_lab, site) == Counter({"DC0_C0_H0": 1, "DC0_C0_H1": 1})
        with fresh_lab.zvm(site) as zvm:
            assert sorted(json_field(v, "HostDisplayName") for v in zvm.vras()) == [
                "DC0_C0_H0",
                "DC0_C0_H1",
            ]
