"""The sites of an inventory, read in-process with Ansible's own inventory, vault and templating
(what health, diagnose, diagnostics and the exporter share)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from vmrepl.paths import CHECKOUT as REPO_ROOT

EXAMPLE = str(REPO_ROOT / "inventories" / "example")
VAULT_PASSWORD = "example-only-vault-password"

#: Each read runs in a process of its own, as in the commands: Ansible's collection loader is
#: process-wide and must not change the other tests' imports.
PREAMBLE = """
import json, sys
from vmrepl.operate.sites import SitesError, load_sites, prepare_ansible
prepare_ansible()
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import VmreplError
def params(site):
    p = site.zvm_params(timeout=4.0, retries=1)
    return {k: getattr(p, k) for k in ("url", "username", "password", "ca_file",
                                       "validate_certs", "timeout")}
def out(value):
    print(json.dumps(value))
"""


def _run(script: str, env: dict[str, str] | None = None) -> Any:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ZVM_", "VMREPL_"))}
    done = subprocess.run(
        [sys.executable, "-c", PREAMBLE + script],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=base | (env or {}),
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_example_inventory_with_its_vault(tmp_path: Path) -> None:
    password_file = tmp_path / "pass"
    password_file.write_text(VAULT_PASSWORD + "\n")
    got = _run(
        f"sites = load_sites({EXAMPLE!r}, vault_password_file={str(password_file)!r})\n"
        # read again, in the same process, through the password itself (a reload)
        f"again = load_sites({EXAMPLE!r}, vault_password={VAULT_PASSWORD!r})\n"
        "out({'names': [s.name for s in sites], 'source': params(sites[0]),\n"
        "     'secrets': sites[0].secrets, 'repr': repr(sites),\n"
        "     'again': params(again[0])['password']})\n"
    )
    assert got["names"] == ["source", "target"]
    source = got["source"]
    assert source["url"] == "https://zvm.dc1.example.net"
    assert source["username"] == "admin"
    assert source["ca_file"] == "/etc/pki/vmrepl/dc1-ca.pem"
    assert source["validate_certs"] is True
    assert source["timeout"] == 4.0
    assert source["password"] and "{{" not in source["password"]  # decrypted from the vault
    assert source["password"] in got["secrets"]
    assert source["password"] not in got["repr"]
    assert got["again"] == source["password"]


def test_a_wrong_vault_password_is_refused() -> None:
    got = _run(
        "try:\n"
        f"    load_sites({EXAMPLE!r}, vault_password='not-the-password')\n"
        "    out('read')\n"
        "except SitesError as exc:\n"
        "    out(str(exc))\n"
    )
    assert "Decryption failed" in got


def test_the_environment_fills_what_the_inventory_lacks(tmp_path: Path) -> None:
    def inventory(name: str, url: str) -> str:
        path = tmp_path / f"{name}.yml"
        path.write_text(
            "vmrepl_sites:\n  hosts:\n    s:\n"
            f"      vmrepl_zvm_url: {url}\n      vmrepl_zvm_username: u\n"
        )
        return str(path)

    script = (
        "try:\n"
        "    [site] = load_sites(sys.argv[1])\n"
        "    out(params(site)['password'])\n"
        "except (SitesError, VmreplError) as exc:\n"
        "    out('refused: ' + str(exc))\n"
    )

    def read(path: str, env: dict[str, str]) -> str:
        return str(_run(script.replace("sys.argv[1]", repr(path)), env))

    https, http = inventory("https", "https://zvm"), inventory("http", "http://zvm")
    assert read(https, {"ZVM_PASSWORD": "from-the-environment"}) == "from-the-environment"
    assert "vmrepl_zvm_password not set" in read(https, {})
    assert "https only" in read(http, {"ZVM_PASSWORD": "p"})


def test_the_collection_loader_comes_before_the_clients_in_one_process() -> None:
    """The exporter's order: Ansible's loader, then the clients (vmrepl.operate.exporter),
    then the inventory; the lab's inventory plugin loads and the clients are the loader's."""
    script = (
        "from vmrepl.operate.sites import prepare_ansible, load_sites\n"
        "prepare_ansible()\n"
        "import vmrepl.operate.exporter\n"
        "from ansible.plugins.loader import inventory_loader\n"
        "assert inventory_loader.get('vmrepl.core.lab') is not None, 'no lab plugin'\n"
        f"sites = load_sites({EXAMPLE!r}, vault_password={VAULT_PASSWORD!r})\n"
        "print(','.join(s.name for s in sites))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "source,target"
    assert "WARNING" not in done.stderr, done.stderr


def test_the_four_commands_take_the_inventory_and_vault_alike() -> None:
    from vmrepl.cli.diagnose import diagnose
    from vmrepl.cli.diagnostics import diagnostics
    from vmrepl.cli.exporter import exporter
    from vmrepl.cli.health import health

    def options(command: Any) -> dict[str, tuple[Any, ...]]:
        return {
            p.name: (tuple(p.opts), tuple(p.secondary_opts), p.envvar)
            for p in command.params
            if p.name in ("inventory", "limit", "vault_password_file", "ask_vault_password")
        }

    expected = options(health)
    assert len(expected) == 4
    assert expected["inventory"][2] == "VMREPL_INVENTORY"
    assert expected["vault_password_file"][2] == "VMREPL_VAULT_PASSWORD_FILE"
    for command in (diagnose, diagnostics, exporter):
        assert options(command) == expected, command.name


def test_the_backup_rules_are_the_backup_roles_defaults_under_the_inventory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "backup.yml"
    path.write_text(
        "vmrepl_sites:\n"
        "  vars:\n"
        "    vmrepl_zvm_username: u\n    vmrepl_zvm_password: p\n"
        "    preflight_hosts_clusters: [C1]\n"
        "  hosts:\n"
        "    a:\n      vmrepl_zvm_url: https://zvm-a\n"
        "      backup_last_backup_attribute: Last Backup\n"
        "      backup_rpo_hours: 12\n"
        "    b:\n      vmrepl_zvm_url: https://zvm-b\n"
        "      replication_manager_name: zerto.b\n"
    )
    sites = _run(
        f"out({{s.name: s.backup for s in load_sites({str(path)!r})}})",
    )
    a, b = sites["a"], sites["b"]
    assert a["backup_last_backup_attribute"] == "Last Backup" and a["backup_rpo_hours"] == 12
    assert b["backup_last_backup_attribute"] == "NB_LAST_BACKUP" and b["backup_rpo_hours"] == 24
    # The role's templates, rendered with each host's variables as the play would.
    assert a["backup_hosts_clusters"] == b["backup_hosts_clusters"] == ["C1"]
    assert a["backup_vms_exclude"] == ["^Z-VRA-", r"^zvm\-a$"]
    assert b["backup_vms_exclude"] == ["^Z-VRA-", r"^zerto\.b$"]
    assert a["backup_proxy_pattern"] == r"^backup\-proxy\-"

    bad = tmp_path / "bad.yml"
    bad.write_text(
        "vmrepl_sites:\n  hosts:\n    a:\n      vmrepl_zvm_url: https://zvm-a\n"
        "      vmrepl_zvm_username: u\n      vmrepl_zvm_password: p\n"
        "      backup_hosts_names: '{{ no_such_variable }}'\n"
    )
    refused = _run(
        "try:\n"
        f"    load_sites({str(bad)!r})\n"
        "    out('read')\n"
        "except SitesError as exc:\n"
        "    out(str(exc))\n"
    )
    assert refused.startswith("a: backup_hosts_names:"), refused
    assert "no_such_variable" in refused, refused
