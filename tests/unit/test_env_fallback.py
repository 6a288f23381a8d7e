"""Where connection secrets may come from the environment, as the README promises:

- in a playbook of your own, the modules' connection options fall back to the environment
  (VMWARE_*, ZVM_*, PEER_ZVM_*) when a task does not give them: each module runs as Ansible runs
  it (a process reading its arguments file), with the option absent and the variable set;
- the shipped playbooks take every site's connection from the inventory (one process
  environment cannot hold two sites' VMWARE_PASSWORD), and the inventory may read it from the
  environment (``lookup('env', ...)``): a shipped playbook runs on a lab whose passwords only
  the environment holds; and with the inventory's variables left out, the environment's
  VMWARE_*/ZVM_* are not taken: the run is refused naming the inventory variable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager
from vmrepl.results import summarise

ROOT = Path(__file__).resolve().parents[2]
LAB_INVENTORY = ROOT / "inventories" / "lab"
SECRET = "Env-Only-S3cret-4711"  # a password that only the environment holds
#: Connection variables of this process (a developer's shell) must not leak into the runs.
PREFIXES = ("VMWARE_", "ZVM_", "PEER_ZVM_")


def run_module(name: str, args: dict[str, Any], env: dict[str, str], tmp: Path) -> dict[str, Any]:
    (tmp / "args.json").write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIXES)}
    module = f"ansible_collections.vmrepl.core.plugins.modules.{name}"
    process = subprocess.run(
        [sys.executable, "-m", module, "args.json"],
        check=False,
        cwd=tmp,
        env={**clean, "PYTHONPATH": str(ROOT / "collections"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert SECRET not in process.stdout + process.stderr  # no_log covers the env's value too
    return dict(json.loads(process.stdout))


def test_without_the_options_or_the_environment_the_module_says_what_is_missing(
    tmp_path: Path,
) -> None:
    result = run_module("zvm_info", {"gather": ["site"]}, {}, tmp_path)
    assert result["failed"]
    assert "missing required arguments: zvm_password, zvm_url, zvm_username" in result["msg"]


def test_zvm_options_come_from_zvm_variables(tmp_path: Path) -> None:
    env = {
        # http:// is refused before anything is sent: proof that the value reached the client.
        "ZVM_URL": "http://zvm-from-env.example:9",
        "ZVM_USERNAME": "env-user",
        "ZVM_PASSWORD": SECRET,
        "ZVM_KIND": "appliance",
        "ZVM_VALIDATE_CERTS": "false",
    }
    result = run_module("zvm_info", {"gather": ["site"]}, env, tmp_path)
    assert result["error"] == "ConfigurationError"
    assert "zvm_url: the ZVM URL 'http://zvm-from-env.example:9'" in result["msg"]
    given = result["invocation"]["module_args"]
    assert given["zvm_url"] == "http://zvm-from-env.example:9"
    assert given["zvm_username"] == "env-user"
    assert given["zvm_password"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    assert given["zvm_kind"] == "appliance" and given["zvm_validate_certs"] is False


def test_an_option_given_wins_over_the_environment(tmp_path: Path) -> None:
    env = {"ZVM_URL": "http://from-env.example", "ZVM_USERNAME": "u", "ZVM_PASSWORD": SECRET}
    args = {"gather": ["site"], "zvm_url": "http://from-task.example"}
    result = run_module("zvm_info", args, env, tmp_path)
    assert "'http://from-task.example'" in result["msg"]


def test_the_peer_zvm_options_come_from_peer_zvm_variables(tmp_path: Path) -> None:
    env = {
        "ZVM_URL": "https://127.0.0.1:1",
        "ZVM_USERNAME": "u",
        "ZVM_PASSWORD": SECRET,
        "PEER_ZVM_URL": "http://peer-from-env.example",
        "PEER_ZVM_USERNAME": "peer-user",
        "PEER_ZVM_PASSWORD": SECRET + "-peer",
    }
    # zvm_pending (check mode only) plans without connecting: the options are only checked.
    args = {"zvm_pending": True, "_ansible_check_mode": True}
    result = run_module("site_pairing", args, env, tmp_path)
    assert not result.get("failed"), result
    given = result["invocation"]["module_args"]
    assert given["peer_zvm_url"] == "http://peer-from-env.example"
    assert given["peer_zvm_username"] == "peer-user"
    assert "peer-from-env.example:9071" in result["msg"]  # the pairing host from the env's URL


def test_vsphere_options_come_from_vmware_variables(tmp_path: Path) -> None:
    env = {
        "VMWARE_HOST": "127.0.0.1",
        "VMWARE_PORT": "9",  # nothing listens: the connection is tried, and fails naming it
        "VMWARE_USER": "env-user",
        "VMWARE_PASSWORD": SECRET,
        "VMWARE_VALIDATE_CERTS": "no",
    }
    result = run_module("vm_info", {"names": []}, env, tmp_path)
    assert result["failed"] and "missing required" not in result["msg"]
    given = result["invocation"]["module_args"]
    assert (given["hostname"], given["port"], given["username"]) == ("127.0.0.1", 9, "env-user")
    assert given["validate_certs"] is False
    assert "127.0.0.1" in result["msg"]


# -- the shipped playbooks: the inventory reads the environment --------------------------------
PASSWORDS = ("vmrepl_vcenter_password", "vmrepl_zvm_password")


def env_name(site: str, variable: str) -> str:
    """``SOURCE_VCENTER_PASSWORD``: a name per site, as two sites need two."""
    return f"{site}_{variable.removeprefix('vmrepl_')}".upper()


def inventory(lab: Lab, folder: Path, passwords: str) -> str:
    """The lab's inventory as a customer's is (static hosts, the lab's group and host
    variables), its passwords ``from_env`` (``lookup('env', ...)``) or ``left_out``."""
    hosts: dict[str, Any] = {}
    for site in lab.state["sites"]:
        vc, zvm = site["vcenter"], site["zvm"]
        host = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "vmrepl_site_role": site["name"],
            "vmrepl_vcenter_hostname": vc["host"],
            "vmrepl_vcenter_port": vc["port"],
            "vmrepl_vcenter_username": vc["username"],
            "vmrepl_vcenter_ca_file": vc["ca_file"],
            "vmrepl_zvm_url": zvm["url"],
            "vmrepl_zvm_username": zvm["username"],
            "vmrepl_zvm_ca_file": zvm["ca_file"],
            "vmrepl_zvm_license_key": zvm["license_key"],
            "vmrepl_lab_appliance_ovf": str(manager.APPLIANCE_OVF),
        }
        if passwords == "from_env":
            for variable in PASSWORDS:
                host[variable] = f"{{{{ lookup('env', '{env_name(site['name'], variable)}') }}}}"
        hosts[site["name"]] = host
    target = next(s for s in lab.state["sites"] if s["name"] == "target")
    doc = {
        "vmrepl_sites": {
            "vars": {"vmrepl_edition": "remote", "pairing_port": target["zvm"]["pairing_port"]},
            "children": {
                "vmrepl_source": {"hosts": {"source": hosts["source"]}},
                "vmrepl_target": {"hosts": {"target": hosts["target"]}},
            },
        }
    }
    folder.mkdir()
    (folder / "hosts.yml").write_text(yaml.safe_dump(doc))
    for part in ("group_vars", "host_vars"):
        (folder / part).symlink_to(LAB_INVENTORY / part)
    return str(folder)


def secrets_in_env(lab: Lab, **wrong: str) -> dict[str, str]:
    """Each site's passwords in the environment (``wrong``: other values, by name)."""
    env = {}
    for site in lab.state["sites"]:
        given = {"vmrepl_vcenter_password": site["vcenter"]["password"]}
        given["vmrepl_zvm_password"] = site["zvm"]["password"]
        for variable, value in given.items():
            env[env_name(site["name"], variable)] = value
    return {**env, **wrong}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("env-lab")
    started = start_lab(directory, deployed=True)
    try:
        yield started
    finally:
        manager.down(directory)


@pytest.mark.lab
def test_a_shipped_playbook_runs_with_passwords_only_the_environment_holds(
    lab: Lab, tmp_path: Path
) -> None:
    where = inventory(lab, tmp_path / "inventory", "from_env")
    assert not any(
        s["zvm"]["password"] in Path(where, "hosts.yml").read_text() for s in lab.state["sites"]
    )
    result = lab.run("deploy_remote.yml", inventory=where, check=True, envvars=secrets_in_env(lab))
    assert result.status == "successful", failure_messages(result)
    # Both sites' vCenters and ZVMs were reached with them: preflight read each.
    hosts = {
        e["event_data"]["host"]
        for e in result.events
        if e.get("event") == "runner_on_ok"
        and str(e["event_data"].get("task_action", "")).endswith("zvm_info")
    }
    assert hosts == {"source", "target"}


@pytest.mark.lab
def test_the_environment_value_is_the_one_used(lab: Lab, tmp_path: Path) -> None:
    """A wrong value in the environment fails the login of that site: proof that the run
    took it from there."""
    where = inventory(lab, tmp_path / "inventory", "from_env")
    env = secrets_in_env(lab, TARGET_ZVM_PASSWORD="not-the-password")
    result = lab.run("deploy_remote.yml", inventory=where, check=True, envvars=env)
    assert result.status == "failed"
    messages = " ".join(failure_messages(result))
    assert "target" in messages or "401" in messages, messages
    failed = {
        e["event_data"]["host"] for e in result.events if e.get("event") == "runner_on_failed"
    }
    assert "target" in failed, failed


@pytest.mark.lab
def test_a_shipped_playbook_does_not_take_vmware_or_zvm_variables(lab: Lab, tmp_path: Path) -> None:
    """The inventory's connection secrets left out, the modules' environment variables set:
    refused, naming the inventory variable to set (the fallback is for playbooks of your
    own)."""
    where = inventory(lab, tmp_path / "inventory", "left_out")
    source = lab.site("source")
    env = {
        "VMWARE_PASSWORD": source["vcenter"]["password"],
        "ZVM_PASSWORD": source["zvm"]["password"],
    }
    result = lab.run("deploy_remote.yml", inventory=where, check=True, envvars=env)
    assert result.status == "failed"
    assert summarise(result.events, result.status).status == "refused"
    messages = " ".join(failure_messages(result))
    assert "vmrepl_vcenter_password" in messages and "vmrepl_zvm_password" in messages, messages
    assert result.count("changed") == 0


def test_the_readme_promises_what_this_file_proves() -> None:
    """The README's promise, word for word as these tests prove it (change both together)."""
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "connection options fall back to the environment" in text
    assert "in a playbook of your own that leaves them out" in text
    assert (
        "the shipped playbooks take them from the inventory, which may read them from the "
        "environment" in text
    )
