"""`vmrepl deploy / health` on the lab: JSON result, summary, JUnit, exit codes (success,
failed, refused, interrupted; health as a Monitoring Plugin, more in tests/operate), check
mode, secrets and where files go. The tests run in order on one lab: before the deploy, the
deploy, then what needs a deployed pair."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.cli.conftest import VMREPL, Cli
from tests.deploy.conftest import Lab
from vmrepl.lab.manager import ZVM_USER
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab


def env_placeholders() -> dict[str, str]:
    return {
        str(p.relative_to(REPO_ROOT / "env")): p.read_text()
        for p in (REPO_ROOT / "env").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module", autouse=True)
def repository_untouched(lab: Lab) -> Iterator[None]:
    """No run of this module persisted options into env/ or left artifacts in the repository
    (other people's runs may: those of this lab name its directory)."""
    before = env_placeholders()
    yield
    assert env_placeholders() == before
    for command in (REPO_ROOT / "artifacts").glob("*/command"):
        assert str(lab.directory) not in command.read_text(errors="replace"), command


def test_health_of_an_undeployed_pair_is_critical(vmrepl: Cli) -> None:
    """A Monitoring Plugin's CRITICAL (exit 2): the sites are not paired."""
    run = vmrepl("health", "-o", "json")
    assert run.returncode == 2, run.stderr
    doc = run.json()
    assert doc["status"] == "CRITICAL" and doc["exit_code"] == 2
    assert "not paired with one peer site" in doc["reason"]
    assert set(doc["health"]) == {"source", "target"}
    assert doc["health"]["source"]["peers"] == []


def test_check_mode_changes_nothing(vmrepl: Cli, lab: Lab) -> None:
    before = {site: lab.vms(site) for site in ("source", "target")}
    run = vmrepl("deploy", "--check", "--diff", "-o", "json", "-q")
    assert run.returncode == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["check"] is True and doc["status"] == "successful"
    assert doc["totals"]["changed"] > 0  # it says what it would do
    assert {site: lab.vms(site) for site in ("source", "target")} == before
    with lab.zvm("source") as zvm:
        assert zvm.vras() == [] and zvm.peer_sites() == [] and zvm.vpgs() == []


def test_deploy_prints_one_json_document_and_a_junit_report(vmrepl: Cli, lab: Lab) -> None:
    junit = lab.directory / "reports" / "deploy.xml"
    run = vmrepl("deploy", "--output", "json", "--junit", str(junit))
    assert run.returncode == 0, run.stdout + run.stderr
    doc = run.json()  # stdout is exactly one document; progress went to stderr
    assert doc["command"] == "deploy" and doc["playbook"] == "deploy_remote.yml"
    assert (doc["status"], doc["exit_code"], doc["failures"]) == ("successful", 0, [])
    assert set(doc["hosts"]) == {"source", "target"}
    assert doc["hosts"]["source"]["changed"] > 0 and doc["totals"]["failed"] == 0
    changed = {(c["host"], c["task"]) for c in doc["changes"]}
    assert ("source", "pairing : Pair the source site with the target site") in changed
    assert any("Peers: target Paired" in str(m["msg"]) for m in doc["messages"])
    assert Path(doc["artifact_dir"]).is_relative_to(lab.directory / "artifacts")
    assert "vra : Install a VRA" in run.stderr  # the live log lines
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {"vmrepl.deploy.source", "vmrepl.deploy.target"}
    assert all(s.get("failures") == "0" and int(s.get("tests", 0)) > 10 for s in suites.values())


def test_the_text_summary_of_a_run_without_changes(vmrepl: Cli) -> None:
    """Without a terminal: log lines while it runs, then the table and the verdict (pairing
    again: nothing to change; the deploy's idempotence is tests/deploy's)."""
    run = vmrepl("pair")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "] play: Pair the source and target sites" in run.stdout  # a log line
    table = run.stdout[run.stdout.index("pair: pair_sites.yml") :]
    for header in ("site", "ok", "changed", "failed", "skipped", "unreachable"):
        assert header in table
    assert not [line for line in run.stdout.splitlines() if line.startswith("changed ")]
    assert "skipped on target (condition not met)" in run.stdout
    assert "SUCCESSFUL (exit 0)" in run.stdout


def test_health_after_deploy(vmrepl: Cli) -> None:
    text = vmrepl("health")
    assert text.returncode == 0, text.stdout + text.stderr
    assert text.stdout.startswith("VMREPL OK - ") and "100001-7-default" in text.stdout
    doc = vmrepl("health", "-o", "json").json()
    for site in ("source", "target"):
        health = doc["health"][site]
        assert len(health["peers"]) == 1 and health["peers"][0]["status"] == "Paired"
        assert health["vras_installed"] == 2
        assert [v["name"] for v in health["vpgs"]] == ["100001-7-default"]
        assert health["vpgs"][0]["meeting_sla"] is True


def test_the_readme_failover_test_text_and_json(vmrepl: Cli) -> None:
    """README: `vmrepl test-failover --request-ref ...` on the lab, then the same as JSON."""
    text = vmrepl("test-failover", "--request-ref", "CHG0012345")
    assert text.returncode == 0, text.stdout + text.stderr
    assert "test-failover: succeeded" in text.stdout and "SUCCESSFUL (exit 0)" in text.stdout
    doc = vmrepl("test-failover", "--request-ref", "CHG0012345", "--output", "json").json()
    assert (doc["status"], doc["exit_code"]) == ("successful", 0)
    assert doc["recovery"]["result"] == "succeeded"
    assert [v["vpg"] for v in doc["recovery"]["vpgs"]] == ["100001-7-default"]
    assert {"html", "json", "junit"} <= set(doc["recovery"]["files"])


def test_vpg_customisation_from_a_definitions_file(vmrepl: Cli, lab: Lab) -> None:
    request = lab.directory / "request.yml"
    request.write_text(
        "vpg_definitions:\n  - name: 100001-7-default\n    vms: [DC0_C0_RP0_VM0, DC0_C0_RP0_VM1]\n"
    )
    refused = vmrepl("vpg", "--definitions", str(request), "-o", "json", "-q")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "request reference" in refused.json()["reason"]
    # As the VPG is already: the run changes nothing (check mode, to leave the lab as it is).
    run = vmrepl(
        "vpg", "--request-ref", "CHG-7", "--definitions", str(request), "--check", "-o", "json"
    )
    assert run.returncode == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["extra_vars"]["vpg_request_ref"] == "CHG-7"
    assert doc["extra_vars"]["vpg_definitions"][0]["name"] == "100001-7-default"
    assert doc["totals"]["changed"] == 0 and doc["totals"]["failed"] == 0


def test_preflight_refusal_exits_2(vmrepl: Cli) -> None:
    run = vmrepl("deploy", "-o", "json", "-q", "-e", "preflight_min_free_percent=100")
    assert run.returncode == 2, run.stdout + run.stderr
    doc = run.json()
    assert doc["status"] == "refused" and doc["totals"]["changed"] == 0
    assert "at least 100%" in doc["reason"]
    assert doc["extra_vars"] == {"preflight_min_free_percent": 100}


def test_an_edition_rule_refusal_exits_2(vmrepl: Cli) -> None:
    run = vmrepl("deploy", "--edition", "local", "-q")
    assert run.returncode == 2
    assert "REFUSED (exit 2)" in run.stdout and "remote edition" in run.stdout


def test_a_recovery_without_the_customers_request_is_refused(vmrepl: Cli, lab: Lab) -> None:
    run = vmrepl("test-failover", "--vpg", "100001-7-default", "-o", "json", "-q")
    assert run.returncode == 2, run.stdout + run.stderr
    doc = run.json()
    assert doc["status"] == "refused" and "request reference" in doc["reason"]
    assert doc["recovery"]["result"] == "refused"  # the report says so, and is written
    assert Path(doc["recovery"]["files"]["json"]).is_file()


def test_a_failover_without_confirmation_is_refused_and_nothing_moves(
    vmrepl: Cli, lab: Lab
) -> None:
    before = {site: lab.vms(site) for site in ("source", "target")}
    run = vmrepl(
        "failover", "--vpg", "100001-7-default", "--request-ref", "CHG-1", "-o", "json", "-q"
    )
    assert run.returncode == 2, run.stdout + run.stderr
    doc = run.json()
    assert doc["status"] == "refused" and "confirm" in doc["reason"].lower()
    assert doc["extra_vars"] == {
        "recovery_vpgs": ["100001-7-default"],
        "recovery_request_ref": "CHG-1",
    }
    assert {site: lab.vms(site) for site in ("source", "target")} == before


def test_ctrl_c_cancels_the_run(vmrepl: Cli) -> None:
    process = vmrepl.popen("deploy")
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until the run is under way
        line = process.stdout.readline()
        seen.append(line)
        if "Discover the site's hypervisors" in line or not line:  # preflight, at every site
            break
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)  # cancelled, not run to its end
    assert process.returncode == 130, "".join(seen) + stdout + stderr
    assert "SIGINT: cancelling the run" in stdout
    assert "INTERRUPTED (exit 130)" in stdout
    assert "Traceback" not in stderr


def test_no_secret_is_printed_or_kept(vmrepl: Cli, lab: Lab) -> None:
    env_secret = "env-secret-value-4711"
    run = vmrepl("pair", "-o", "json", "-q", env={"ZVM_PASSWORD": env_secret})
    assert run.returncode == 0, run.stderr
    command = json.loads((Path(run.json()["artifact_dir"]) / "command").read_text())
    assert command["env"]["ZVM_PASSWORD"] == "********"
    health = vmrepl("health", "-o", "json", env={"ZVM_PASSWORD": env_secret})  # a direct read
    assert health.returncode == 0, health.stdout + health.stderr
    texts = [run.stdout, run.stderr, health.stdout, health.stderr]
    for path in (lab.directory / "artifacts").rglob("*"):
        if path.is_file():
            texts.append(path.read_text(errors="replace"))
    everything = "\n".join(texts)
    for secret in [*lab.secrets(), env_secret]:
        assert secret not in everything


def vaulted_inventory(tmp_path: Path, password: str) -> Path:
    """The lab's inventory with each site's ZVM user name vaulted: runs need the password."""
    import shutil

    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    inventory = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventories" / "lab", inventory)
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
    encrypted = vault.encrypt(ZVM_USER).decode()
    body = "\n".join("  " + line for line in encrypted.splitlines())
    for site in ("source", "target"):
        host_vars = inventory / "host_vars" / f"{site}.yml"
        host_vars.write_text(host_vars.read_text() + f"vmrepl_zvm_username: !vault |\n{body}\n")
    return inventory


def test_vault_password_from_the_environment_or_a_file(
    vmrepl: Cli, lab: Lab, tmp_path: Path
) -> None:
    password = "vault-pass-0815"
    inventory = vaulted_inventory(tmp_path, password)
    missing = vmrepl("health", "-i", str(inventory), "-o", "json")
    assert missing.returncode == 3, missing.stdout + missing.stderr  # UNKNOWN
    assert "vault" in missing.json()["reason"].lower()

    # The ZVMs were read with the decrypted user name (healthy or not: that is the lab's state).
    from_env = vmrepl(
        "health", "-i", str(inventory), "-o", "json", env={"VMREPL_VAULT_PASSWORD": password}
    )
    assert set(from_env.json()["health"]) == {"source", "target"}, from_env.stdout

    password_file = tmp_path / "vault-pass"
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    from_file = vmrepl(
        "health",
        "-o",
        "json",
        env={"VMREPL_INVENTORY": str(inventory), "VMREPL_VAULT_PASSWORD_FILE": str(password_file)},
    )
    assert set(from_file.json()["health"]) == {"source", "target"}, from_file.stdout
    assert from_file.json()["inventory"] == str(inventory)
    for path in (lab.directory / "artifacts").rglob("command"):
        assert password not in path.read_text()


def test_vault_password_prompt_on_a_terminal(vmrepl: Cli, tmp_path: Path) -> None:
    import pexpect

    password = "vault-pass-prompted"
    inventory = vaulted_inventory(tmp_path, password)
    child = pexpect.spawn(
        VMREPL,
        ["health", "-i", str(inventory), "--ask-vault-password", "-o", "json"],
        env=vmrepl.env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=120,
    )
    child.expect("Vault password: ")
    child.sendline(password)
    child.expect(pexpect.EOF)
    child.close()
    output = child.before
    assert password not in output  # not echoed
    doc = json.loads(output[output.index("{") :])
    assert set(doc["health"]) == {"source", "target"}, output
    assert child.exitstatus == doc["exit_code"] != 3  # read, not UNKNOWN
