"""`vmrepl diagnose` on a deployed lab: nothing wrong, then with the peer link cut the VPG out
of SLA is put down to the link (ZVM0003) since it went down, with the next step and a
severity; the alerts' events say when it was resolved."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.deploy.conftest import Lab
from tests.operate.conftest import VPG, vmrepl

pytestmark = pytest.mark.lab


def test_the_peer_link_is_named_as_the_cause_of_the_vpg_out_of_sla(
    deployed: Lab, link: Callable[[str], None]
) -> None:
    calm = vmrepl(deployed, "diagnose")
    assert calm.returncode == 0, calm.stdout + calm.stderr
    assert "nothing is wrong now" in calm.stdout

    link("cut")
    run = vmrepl(deployed, "diagnose", "-o", "json")
    assert run.returncode == 1, run.stdout + run.stderr
    doc = json.loads(run.stdout)
    [incident] = doc["incidents"]
    assert incident["id"] == "ZVM0003" and incident["sites"] == ["source", "target"]
    assert incident["since"] is not None
    vpg_out = [c for c in incident["consequences"] if c["id"] == "VPG0010"]
    assert {c["site"] for c in vpg_out} == {"source", "target"}
    assert all(c["vpgs"] == [VPG] for c in vpg_out)
    assert all(c["since"] >= incident["since"] for c in vpg_out)
    assert incident["next_steps"] and incident["probable_cause"]
    assert doc["severity"] == 1  # the pair's only VPG is out of its SLA

    text = vmrepl(deployed, "diagnose").stdout
    assert "[1] ZVM0003 No connection to a paired site at source, target since" in text
    assert f"Consequence: VPG {VPG} is not meeting its SLA" in text
    assert "Suggested vendor severity 1" in text

    link("up")
    after = vmrepl(deployed, "diagnose", "-o", "json")
    assert after.returncode == 0, after.stdout
    resolved = json.loads(after.stdout)["resolved"]
    assert any("ZVM0003 turned off" in r["event"] for r in resolved)
