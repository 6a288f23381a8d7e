"""The sites of an inventory and how to reach them, read in-process with Ansible's own
inventory, vault and templating (no ansible-playbook start): what the direct reads
(``vmrepl health``, ``diagnose``, ``diagnostics``) and ``vmrepl exporter`` share.

:func:`prepare_ansible` must run before anything imports the collection's module_utils (the
clients): then Ansible's collection loader owns the ``ansible_collections`` namespace and the
lab's inventory plugin (``vmrepl.core.lab``) loads. Each :func:`load_sites` reads the inventory
and its vault anew, so a process may call it again (a reload).

Each site's connection comes from the same variables the playbooks use
(``playbooks/vars/connections.yml``: ``vmrepl_zvm_url``, ``vmrepl_zvm_username``, ...), a missing
one from the environment variable the modules fall back to (``ZVM_PASSWORD``,
``VMWARE_PASSWORD``, ...). Vaulted values are decrypted with the vault secret the user gave
(a file, ``VMREPL_VAULT_PASSWORD``, a prompt, or Ansible's own ``ANSIBLE_VAULT_PASSWORD_FILE``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vmrepl import paths

#: inventory variable → (environment fallback, default)
ZVM_VARIABLES = {
    "url": ("vmrepl_zvm_url", "ZVM_URL", None),
    "username": ("vmrepl_zvm_username", "ZVM_USERNAME", None),
    "password": ("vmrepl_zvm_password", "ZVM_PASSWORD", None),
    "kind": ("vmrepl_zvm_kind", "ZVM_KIND", "auto"),
    "validate_certs": ("vmrepl_zvm_validate_certs", "ZVM_VALIDATE_CERTS", True),
    "ca_file": ("vmrepl_zvm_ca_file", "ZVM_CA_FILE", None),
}
VCENTER_VARIABLES = {
    "hostname": ("vmrepl_vcenter_hostname", "VMWARE_HOST", None),
    "username": ("vmrepl_vcenter_username", "VMWARE_USER", None),
    "password": ("vmrepl_vcenter_password", "VMWARE_PASSWORD", None),
    "port": ("vmrepl_vcenter_port", "VMWARE_PORT", 443),
    "validate_certs": ("vmrepl_vcenter_validate_certs", "VMWARE_VALIDATE_CERTS", True),
    "ca_file": ("vmrepl_vcenter_ca_file", "VMWARE_CA_FILE", None),
}
#: The backup service's rules (backup_readiness.yml's variables): the backup role's defaults,
#: overridden by the inventory, as the playbook has them (``vmrepl exporter`` reads them).
BACKUP_DEFAULTS = ("roles", "backup", "defaults", "main.yml")
#: other variables whose values are secrets (never printed or archived)
SECRET_VARIABLES = ("vmrepl_zvm_license_key", "replication_manager_admin_password")


#: whether Ansible's collection loader is set up (once per process)
_PREPARED: list[bool] = []


class SitesError(Exception):
    """The inventory cannot be read, or a site's connection is incomplete."""


@dataclass
class Site:
    """One site of the inventory: its name, role and how to reach its ZVM and vCenter."""

    name: str
    edition: str
    groups: list[str]
    zvm: dict[str, Any] = field(repr=False)
    vcenter: dict[str, Any] | None = field(repr=False, default=None)
    #: every secret value of the site (passwords, licence key), for redaction
    secrets: list[str] = field(repr=False, default_factory=list)
    #: the backup role's variables (``backup_last_backup_attribute``, ...) as the playbook
    #: has them; empty when the site was not read from an inventory
    backup: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> str:
        for role in ("source", "target", "local"):
            if f"vmrepl_{role}" in self.groups:
                return role
        return self.name

    def zvm_params(self, timeout: float = 30.0, retries: int = 1) -> Any:
        from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
            ZvmConnectionParams,
        )

        z = self.zvm
        return ZvmConnectionParams(
            url=str(z["url"]),
            username=str(z["username"]),
            password=str(z["password"]),
            kind=z.get("kind") or "auto",
            validate_certs=_bool(z.get("validate_certs", True)),
            ca_file=str(z["ca_file"]) if z.get("ca_file") else None,
            timeout=timeout,
            retries=retries,
            backoff=0.2,
            backoff_max=1.0,
            option=f"{self.name}: vmrepl_zvm_url",
        )

    def vcenter_params(self, timeout: float = 30.0) -> Any:
        from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
            VSphereConnectionParams,
        )

        v = self.vcenter
        if not v:
            return None
        return VSphereConnectionParams(
            hostname=str(v["hostname"]),
            username=str(v["username"]),
            password=str(v["password"]),
            port=int(v["port"]),
            validate_certs=_bool(v["validate_certs"]),
            ca_file=v["ca_file"] or None,
            timeout=timeout,
        )


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    return bool(value)


def prepare_ansible() -> None:
    """The project's ansible.cfg (collections path, inventory plugins, the default inventory),
    as the playbook runs have it; then Ansible's collection loader. Call it before anything
    imports ``ansible_collections`` (the collection's module_utils), so that the loader, not the
    plain import path, owns that namespace."""
    if _PREPARED:
        return
    from vmrepl.runner import ansible_env

    for name, value in ansible_env().items():
        if name != "ANSIBLE_CALLBACK_PLUGINS":
            os.environ.setdefault(name, value)
    from ansible import constants as C
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader(C.COLLECTIONS_PATHS)
    _PREPARED.append(True)


def _vault_secrets(loader: Any, password: str | None, password_file: str | None) -> list[Any]:
    from ansible import constants as C
    from ansible.parsing.vault import VaultSecret, get_file_vault_secret

    secrets: list[Any] = []
    if password is not None:
        secrets.append((C.DEFAULT_VAULT_IDENTITY, VaultSecret(password.encode())))
    files = [password_file] if password_file else []
    if not secrets and not files:
        files = [f for f in (os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"),) if f]
    for path in files:
        secret = get_file_vault_secret(filename=path, loader=loader)
        secret.load()
        secrets.append((C.DEFAULT_VAULT_IDENTITY, secret))
    return secrets


def _vault_context(secrets: list[Any]) -> None:
    """Ansible 2.19 decrypts vaulted values on use, with the secrets of its (process-wide)
    VaultSecretsContext, as its own command line sets it up."""
    from ansible.parsing.vault import VaultSecretsContext

    current = VaultSecretsContext.current(optional=True)
    if current is None:
        VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    else:
        current.secrets = secrets


def load_sites(
    inventory: str | None = None,
    limit: str | None = None,
    vault_password: str | None = None,
    vault_password_file: str | None = None,
) -> list[Site]:
    """The sites (group ``vmrepl_sites``) of ``inventory`` (default: the project's, the
    embedded lab), with their connection values templated and decrypted."""
    prepare_ansible()
    from ansible import constants as C
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    loader.set_basedir(str(paths.project_dir()))
    try:
        secrets = _vault_secrets(loader, vault_password, vault_password_file)
        loader.set_vault_secrets(secrets)
        _vault_context(secrets)
        sources = [inventory] if inventory else list(C.DEFAULT_HOST_LIST)
        manager = InventoryManager(loader=loader, sources=sources)
        if limit:
            manager.subset(limit)
        hosts = manager.get_hosts("vmrepl_sites")
        variables = VariableManager(loader=loader, inventory=manager)
        defaults = _backup_defaults(loader)
        sites = []
        for host in hosts:
            values = variables.get_vars(host=host, include_hostvars=False)
            templar = Templar(loader=loader, variables=values)
            site = _site(host, values, templar)
            site.backup = _backup_settings(
                site.name, defaults, values, Templar(loader=loader, variables=defaults | values)
            )
            sites.append(site)
    except AnsibleError as exc:
        raise SitesError(_first_line(str(exc))) from None
    if not sites:
        where = inventory or "the embedded lab"
        raise SitesError(f"{where} has no site (no host in group vmrepl_sites).")
    return sites


def _backup_defaults(loader: Any) -> dict[str, Any]:
    """The backup role's defaults, their templates trusted as a role's are."""
    path = paths.project_dir().joinpath(*BACKUP_DEFAULTS)
    if not path.is_file():
        return {}
    from ansible.template import trust_as_template

    def trusted(value: Any) -> Any:
        if isinstance(value, str):
            return trust_as_template(value)
        if isinstance(value, list):
            return [trusted(v) for v in value]
        if isinstance(value, dict):
            return {k: trusted(v) for k, v in value.items()}
        return value

    loaded = loader.load_from_file(str(path))
    return {k: trusted(v) for k, v in (loaded or {}).items() if str(k).startswith("backup_")}


def _backup_settings(
    name: str, defaults: dict[str, Any], values: Any, templar: Any
) -> dict[str, Any]:
    """Each of the backup role's variables, the inventory's value when it has one, templated
    with the host's variables (as the playbook's play would)."""
    from ansible.errors import AnsibleError

    settings = {}
    for variable, default in defaults.items():
        raw = values.get(variable, default)
        try:
            settings[variable] = templar.template(raw)
        except AnsibleError as exc:
            raise SitesError(f"{name}: {variable}: {_first_line(str(exc))}") from None
    return settings


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _value(host: str, values: dict[str, Any], templar: Any, spec: tuple[str, str, Any]) -> Any:
    name, env, default = spec
    if name in values:
        value = templar.template(values[name])
        if value not in (None, ""):
            return value
    if os.environ.get(env):
        return os.environ[env]
    return default


def _site(host: Any, values: dict[str, Any], templar: Any) -> Site:
    name = host.get_name()
    zvm = {k: _value(name, values, templar, spec) for k, spec in ZVM_VARIABLES.items()}
    missing = [ZVM_VARIABLES[k][0] for k in ("url", "username", "password") if not zvm[k]]
    if missing:
        raise SitesError(
            f"{name}: {', '.join(missing)} not set (inventory, vault, or the environment "
            f"variables {', '.join(s[1] for k, s in ZVM_VARIABLES.items() if s[0] in missing)})."
        )
    vcenter: dict[str, Any] | None = {
        k: _value(name, values, templar, spec) for k, spec in VCENTER_VARIABLES.items()
    }
    assert vcenter is not None
    if not all(vcenter[k] for k in ("hostname", "username", "password")):
        vcenter = None
    secrets = [str(zvm["password"])]
    if vcenter:
        secrets.append(str(vcenter["password"]))
    for variable in SECRET_VARIABLES:
        if variable in values:
            value = templar.template(values[variable])
            if value:
                secrets.append(str(value))
    return Site(
        name=name,
        edition=str(templar.template(values.get("vmrepl_edition", "remote"))),
        groups=sorted(g.get_name() for g in host.get_groups()),
        zvm=zvm,
        vcenter=vcenter,
        secrets=[s for s in dict.fromkeys(secrets) if s],
    )


def inventory_path(inventory: str | None) -> str | None:
    """The user's inventory as an absolute path (the reads' working directory is theirs)."""
    return str(Path(inventory).expanduser().resolve()) if inventory else None


class Deadline(Exception):
    """The time given ran out; ``stage`` is where each unfinished part was."""

    def __init__(self, seconds: float, stages: dict[str, str]) -> None:
        self.seconds = seconds
        self.stages = stages
        where = "; ".join(f"{k}: {v}" for k, v in stages.items()) or "starting"
        super().__init__(f"timed out after {seconds:g} s ({where})")


def run_within(
    seconds: float,
    work: dict[str, Callable[[Callable[[str], None]], Any]],
) -> dict[str, Any]:
    """Run each ``work[name](stage)`` in its own (daemon) thread, all within ``seconds``;
    ``stage(text)`` records how far it got. Returns name → result, or the exception it raised.
    Raises :class:`Deadline` naming the stage of each unfinished one."""
    import threading
    import time

    stages: dict[str, str] = {name: "starting" for name in work}
    results: dict[str, Any] = {}
    lock = threading.Lock()

    def runner(name: str, job: Callable[[Callable[[str], None]], Any]) -> None:
        def stage(text: str) -> None:
            with lock:
                stages[name] = text

        try:
            value: Any = job(stage)
        except Exception as exc:  # handed back to the caller, which reports it
            value = exc
        with lock:
            results[name] = value

    threads = [
        threading.Thread(target=runner, args=(n, j), daemon=True, name=f"vmrepl-{n}")
        for n, j in work.items()
    ]
    deadline = time.monotonic() + seconds
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    with lock:
        if len(results) < len(work):
            raise Deadline(seconds, {n: s for n, s in stages.items() if n not in results})
        return dict(results)
