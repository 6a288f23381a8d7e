"""Connection options fall back to the environment (VMWARE_*, ZVM_*, PEER_ZVM_*) when a task
does not give them: the README's promise for a playbook of your own. Each module runs as Ansible
runs it (a process reading its arguments file), with the option absent and the variable set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
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
