"""Resolve the ZVM connection variables of an inventory's sites with Ansible's own inventory,
vault and templating, in a process of its own: ``python -m vmrepl.operate.metrics_inventory``.

Ansible's collection loader must be installed before anything of the collection is imported
(the lab's inventory plugin is ``vmrepl.core.lab``), which a process that already uses the
collection's clients cannot do; so the exporter asks this one. The request comes on stdin as
JSON ``{"inventory", "group", "variables", "vault_password", "vault_password_file"}`` (secrets
never on a command line), the answer on stdout: ``{"sites": [{"name", "vars"}]}``; an error
exits 2 with a message on stderr. Nothing of the collection is imported here."""

from __future__ import annotations

import json
import sys
from typing import Any


def resolve(request: dict[str, Any]) -> list[dict[str, Any]]:
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret, get_file_vault_secret
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    init_plugin_loader()
    loader = DataLoader()
    if request.get("vault_password_file"):
        secret = get_file_vault_secret(filename=request["vault_password_file"], loader=loader)
        secret.load()
        loader.set_vault_secrets([("default", secret)])
    elif request.get("vault_password"):
        loader.set_vault_secrets([("default", VaultSecret(request["vault_password"].encode()))])
    manager = InventoryManager(loader=loader, sources=[request["inventory"]])
    variables = VariableManager(loader=loader, inventory=manager)
    sites = []
    for host in manager.get_hosts(request["group"]):
        host_vars = variables.get_vars(host=host)
        templar = Templar(loader=loader, variables=host_vars)
        resolved = {
            name: templar.template(host_vars[name])
            for name in request["variables"]
            if name in host_vars
        }
        sites.append({"name": host.name, "vars": json.loads(json.dumps(resolved, default=str))})
    return sites


def main() -> int:
    try:
        sites = resolve(json.loads(sys.stdin.read()))
    except Exception as exc:  # Ansible's errors: a bad inventory, a wrong vault password
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    json.dump({"sites": sites}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
