"""The exporter's sites: read from an inventory with Ansible's own vault and templating."""

from __future__ import annotations

from pathlib import Path

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
)
from vmrepl.lab.vcsim import REPO_ROOT
from vmrepl.operate.metrics_sites import read_sites, site_params

EXAMPLE = REPO_ROOT / "inventories" / "example"


def test_the_example_inventory_with_its_vault(tmp_path: Path) -> None:
    password_file = tmp_path / "pass"
    password_file.write_text("example-only-vault-password\n")
    sites = read_sites(EXAMPLE, vault_password_file=str(password_file))
    assert [s.name for s in sites] == ["source", "target"]
    source = sites[0].params
    assert source.url == "https://zvm.dc1.example.net"
    assert source.username == "admin"
    assert source.ca_file == "/etc/pki/vmrepl/dc1-ca.pem"
    assert source.validate_certs is True
    assert source.password and "{{" not in source.password  # decrypted from the vault
    assert source.password not in repr(sites)
    # the same through the password itself
    again = read_sites(EXAMPLE, vault_password="example-only-vault-password")
    assert again[0].params.password == source.password


def test_a_wrong_vault_password_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="could not be read"):
        read_sites(EXAMPLE, vault_password="not-the-password")


def test_the_environment_fills_what_the_inventory_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZVM_PASSWORD", "from-the-environment")
    params = site_params("s", {"vmrepl_zvm_url": "https://zvm", "vmrepl_zvm_username": "u"})
    assert params.password == "from-the-environment"
    monkeypatch.delenv("ZVM_PASSWORD")
    with pytest.raises(ConfigurationError, match="vmrepl_zvm_password is not set"):
        site_params("s", {"vmrepl_zvm_url": "https://zvm", "vmrepl_zvm_username": "u"})
    with pytest.raises(ConfigurationError, match="https only"):
        site_params(
            "s",
            {
                "vmrepl_zvm_url": "http://zvm",
                "vmrepl_zvm_username": "u",
                "vmrepl_zvm_password": "p",
            },
        )
