"""The sites of an inventory, read in-process with Ansible's own inventory, vault and templating
(what health, diagnose, diagnostics and the exporter share)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
)
from vmrepl.lab.vcsim import REPO_ROOT
from vmrepl.operate.sites import SitesError, load_sites

EXAMPLE = str(REPO_ROOT / "inventories" / "example")
VAULT_PASSWORD = "example-only-vault-password"


def test_the_example_inventory_with_its_vault(tmp_path: Path) -> None:
    password_file = tmp_path / "pass"
    password_file.write_text(VAULT_PASSWORD + "\n")
    sites = load_sites(EXAMPLE, vault_password_file=str(password_file))
    assert [s.name for s in sites] == ["source", "target"]
    source = sites[0].zvm_params(timeout=4.0, retries=1)
    assert source.url == "https://zvm.dc1.example.net"
    assert source.username == "admin"
    assert source.ca_file == "/etc/pki/vmrepl/dc1-ca.pem"
    assert source.validate_certs is True
    assert source.timeout == 4.0
    assert source.password and "{{" not in source.password  # decrypted from the vault
    assert source.password in sites[0].secrets
    assert source.password not in repr(sites)
    # read again, in the same process, through the password itself (a reload)
    again = load_sites(EXAMPLE, vault_password=VAULT_PASSWORD)
    assert again[0].zvm_params().password == source.password


def test_a_wrong_vault_password_is_refused() -> None:
    with pytest.raises(SitesError, match="Decryption failed"):
        load_sites(EXAMPLE, vault_password="not-the-password")


def test_the_environment_fills_what_the_inventory_lacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def inventory(url: str) -> str:
        path = tmp_path / "hosts.yml"
        path.write_text(
            "vmrepl_sites:\n  hosts:\n    s:\n"
            f"      vmrepl_zvm_url: {url}\n      vmrepl_zvm_username: u\n"
        )
        return str(path)

    monkeypatch.setenv("ZVM_PASSWORD", "from-the-environment")
    [site] = load_sites(inventory("https://zvm"))
    assert site.zvm_params().password == "from-the-environment"
    monkeypatch.delenv("ZVM_PASSWORD")
    with pytest.raises(SitesError, match="vmrepl_zvm_password not set"):
        load_sites(inventory("https://zvm"))
    monkeypatch.setenv("ZVM_PASSWORD", "p")
    [site] = load_sites(inventory("http://zvm"))
    with pytest.raises(ConfigurationError, match="https only"):
        site.zvm_params()


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
