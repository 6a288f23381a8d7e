"""`vmrepl health` on a deployed lab: OK, CRITICAL (exit 2) with the peer link cut, OK again
once it is healed; perfdata, JSON, the secrets and the vault as for every command. And every
shell block of docs/operations.md, run as written on the same lab (one lab for the module)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli.test_command import vaulted_inventory
from tests.deploy.conftest import Lab
from tests.operate.conftest import VPG, env_of, vmrepl
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab


def test_ok_then_critical_with_the_peer_link_cut_then_ok(
    deployed: Lab, link: Callable[[str], None]
) -> None:
    ok = vmrepl(deployed, "health")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    first = ok.stdout.splitlines()[0]
    assert first.startswith("VMREPL OK - ") and " | " in first
    assert f"'source {VPG} rpo'=" in first and f"'target {VPG} journal'=" in first

    link("cut")
    cut = vmrepl(deployed, "health")
    assert cut.returncode == 2, cut.stdout + cut.stderr
    first = cut.stdout.splitlines()[0]
    assert first.startswith("VMREPL CRITICAL - ") and f"VPGs not meeting their SLA: {VPG}" in first
    assert "ZVM0003" in cut.stdout
    doc = json.loads(vmrepl(deployed, "health", "-o", "json").stdout)
    assert (doc["status"], doc["exit_code"]) == ("CRITICAL", 2)
    assert doc["health"]["source"]["vpgs"][0]["meeting_sla"] is False

    link("up")
    healed = vmrepl(deployed, "health")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert healed.stdout.startswith("VMREPL OK - ")


def test_thresholds_turn_a_healthy_pair_into_a_warning(deployed: Lab) -> None:
    """An RPO warning range every RPO falls outside of: WARNING, the range in the perfdata."""
    run = vmrepl(deployed, "health", "--rpo-warning", "@0:100", "--rpo-critical", "@200:300")
    assert run.returncode == 1, run.stdout + run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("VMREPL WARNING - ") and "RPO" in first
    assert f"'source {VPG} rpo'=" in first and ";@0:30000;@60000:90000;0" in first


def test_bad_thresholds_and_a_timeout_are_unknown(deployed: Lab) -> None:
    bad = vmrepl(deployed, "health", "--journal-warning", "lots")
    assert bad.returncode == 3 and "--journal-warning" in bad.stdout
    slow = vmrepl(deployed, "health", "--timeout", "0.1")
    assert slow.returncode == 3, slow.stdout + slow.stderr
    assert slow.stdout.startswith("VMREPL UNKNOWN - ") and "timed out after 0.1 s" in slow.stdout


def test_an_unreachable_zvm_is_unknown(deployed: Lab, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventories" / "lab", inventory)
    host_vars = inventory / "host_vars" / "source.yml"
    host_vars.write_text(host_vars.read_text() + "vmrepl_zvm_url: https://127.0.0.1:1\n")
    run = vmrepl(deployed, "health", "-i", str(inventory))
    assert run.returncode == 3, run.stdout + run.stderr
    assert "source: cannot read the ZVM" in run.stdout


def test_no_secret_is_printed_and_the_vault_is_honoured(deployed: Lab, tmp_path: Path) -> None:
    password = "vault-pass-4242"
    inventory = vaulted_inventory(tmp_path, password)
    missing = vmrepl(deployed, "health", "-i", str(inventory), "-o", "json")
    assert missing.returncode == 3 and "vault" in json.loads(missing.stdout)["reason"].lower()
    password_file = tmp_path / "vault-pass"
    password_file.write_text(password + "\n")
    run = vmrepl(
        deployed, "health", "-i", str(inventory), "--vault-password-file", str(password_file)
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for secret in [*deployed.secrets(), password]:
        assert secret not in run.stdout + run.stderr


DOC = REPO_ROOT / "docs" / "operations.md"


def blocks() -> list[str]:
    return [m.group(1) for m in re.finditer(r"```sh\n(.*?)```", DOC.read_text(), re.S)]


def test_every_block_runs_as_written_on_a_healthy_pair(deployed: Lab) -> None:
    lines = [line for b in blocks() for line in b.splitlines() if line.strip()]
    assert len(lines) >= 8
    bin_dir = Path(REPO_ROOT / ".venv" / "bin")
    env = env_of(deployed) | {"PATH": f"{bin_dir}:{env_of(deployed).get('PATH', '')}"}
    outputs = {}
    for line in lines:
        done = subprocess.run(
            ["bash", "-ec", line], cwd=deployed.directory, env=env, capture_output=True,
            text=True, timeout=300, check=False,
        )  # fmt: skip
        assert done.returncode == 0, f"{line}\n{done.stdout}{done.stderr}"
        outputs[line] = done.stdout
    assert outputs["vmrepl health"].startswith("VMREPL OK - ")
    assert json.loads(outputs["vmrepl health --output json"])["status"] == "OK"
    assert "nothing is wrong now" in outputs["vmrepl diagnose"]
    assert "Probable causes:" in outputs["vmrepl diagnose --explain VmreplVpgNotMeetingSla"]
    listed = outputs["tar -tzf support.tar.gz"].splitlines()
    assert any(name.endswith("/sites/source/zvm/vpgs.json") for name in listed)
