"""The sites an exporter reads: every host of an Ansible inventory's ``vmrepl_sites`` group, with
its ZVM's connection variables resolved the way the playbooks resolve them (Ansible's own
inventory, vault and templating: ``playbooks/vars/connections.yml``), and the environment's
``ZVM_*`` variables where the inventory has none (as the modules' fallbacks do)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import ZvmConnectionParams

#: The group of the sites in every vmrepl inventory.
SITES_GROUP = "vmrepl_sites"
#: A scrape must answer within Prometheus' scrape timeout (10 s by default): short HTTP
#: timeouts, one retry of what the client's retry rule allows.
SCRAPE_TIMEOUT = 4.0
SCRAPE_RETRIES = 1

#: inventory variable -> (ZvmConnectionParams field, environment fallback)
_VARIABLES = {
    "vmrepl_zvm_url": ("url", "ZVM_URL"),
    "vmrepl_zvm_username": ("username", "ZVM_USERNAME"),
    "vmrepl_zvm_password": ("password", "ZVM_PASSWORD"),
    "vmrepl_zvm_kind": ("kind", "ZVM_KIND"),
    "vmrepl_zvm_validate_certs": ("validate_certs", "ZVM_VALIDATE_CERTS"),
    "vmrepl_zvm_ca_file": ("ca_file", "ZVM_CA_FILE"),
}


@dataclass(frozen=True)
class Site:
    """One inventory site and how to reach its ZVM (``params`` holds the password: never log
    it; its repr hides it)."""

    name: str
    params: ZvmConnectionParams


def default_inventory() -> Path:
    """The embedded lab's inventory (``inventories/lab``), as for every other command."""
    from vmrepl.lab.vcsim import REPO_ROOT

    return REPO_ROOT / "inventories" / "lab"


def site_params(name: str, variables: Mapping[str, Any]) -> ZvmConnectionParams:
    """A site's ZVM connection from its (templated) variables, with the environment's
    ``ZVM_*`` where a variable is missing. Refuses a site without URL, user or password,
    naming the variable."""
    values: dict[str, Any] = {}
    for variable, (field, env) in _VARIABLES.items():
        value = variables.get(variable)
        if value in (None, ""):
            value = os.environ.get(env) or None
        if value is not None:
            values[field] = value
    for variable, (field, env) in list(_VARIABLES.items())[:3]:
        if not values.get(field):
            raise ConfigurationError(
                f"Site {name}: {variable} is not set (in the inventory, its vault, or the "
                f"environment variable {env}).",
                hint=f"Set {variable} for {name} in the inventory.",
            )
    if "validate_certs" in values:
        values["validate_certs"] = _boolean(values["validate_certs"])
    return ZvmConnectionParams(
        url=str(values["url"]),
        username=str(values["username"]),
        password=str(values["password"]),
        kind=str(values.get("kind") or "auto"),  # type: ignore[arg-type]
        validate_certs=values.get("validate_certs", True),
        ca_file=str(values["ca_file"]) if values.get("ca_file") else None,
        timeout=SCRAPE_TIMEOUT,
        retries=SCRAPE_RETRIES,
        backoff=0.2,
        backoff_max=1.0,
        option=f"vmrepl_zvm_url of {name}",
    )


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def read_sites(
    inventory: str | Path | None = None,
    *,
    vault_password: str | None = None,
    vault_password_file: str | None = None,
    timeout: float = 600.0,
) -> list[Site]:
    """Every site of ``inventory`` (default: the lab's, which starts the lab when it is not
    running, as for the playbooks), in inventory order. Ansible resolves the variables in a
    process of its own (``metrics_inventory``); the secrets travel through its pipes only."""
    import json
    import subprocess
    import sys

    from vmrepl.lab.vcsim import REPO_ROOT

    source = Path(inventory or default_inventory()).expanduser().resolve()
    if not source.exists():
        raise ConfigurationError(f"The inventory {inventory} does not exist.")
    request = {
        "inventory": str(source),
        "group": SITES_GROUP,
        "variables": sorted(_VARIABLES),
        "vault_password": vault_password,
        "vault_password_file": str(Path(vault_password_file).resolve())
        if vault_password_file
        else None,
    }
    env = {"ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), **os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "vmrepl.operate.metrics_inventory"],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise ConfigurationError(
            f"The inventory {source} could not be read: {lines[-1] if lines else 'no reason'}",
            hint="Check the inventory and the vault password.",
        )
    answer = json.loads(done.stdout)
    sites = [Site(s["name"], site_params(s["name"], s["vars"])) for s in answer["sites"]]
    if not sites:
        raise ConfigurationError(
            f"The inventory {source} has no site (no host in the group {SITES_GROUP})."
        )
    return sites
