# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: lab
short_description: The embedded lab's simulated sites as an inventory
description:
  - Reads the running lab (C(vmrepl lab status)) and makes one host per site, with the
    connection variables of its vCenter and ZVM simulators, the licence key of each site's ZVM
    (C(vmrepl_zvm_license_key)) and the target's pairing port (C(pairing_port)).
  - A lab started bare (the default) is a new customer's site pair - its ZVMs answer only once
    the deployment has deployed their appliances.
  - Starts the lab first when it is not running and O(autostart) is true.
  - Needs the C(vmrepl) Python package (the repository's C(make setup) installs it).
options:
  plugin:
    description: The name of this plugin.
    required: true
    choices: [vmrepl.core.lab]
  edition:
    description: The edition the lab is started as when it is not running.
    type: str
    default: remote
    choices: [remote, local]
  autostart:
    description: Start the lab when it is not running.
    type: bool
    default: true
  hosts_per_site:
    description: Hypervisors per site when the lab is started here.
    type: int
    default: 2
  vms:
    description: VMs per resource pool in each site when the lab is started here.
    type: int
    default: 2
  deployed:
    description:
      - Start the lab with its ZVMs deployed and licensed (no VRAs, not paired) instead of bare.
    type: bool
    default: false
"""

EXAMPLES = r"""
# inventories/lab/lab.vmrepl.yml
plugin: vmrepl.core.lab
edition: remote
autostart: true
"""

import sys

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin

ROLE_GROUPS = {"source": "vmrepl_source", "target": "vmrepl_target", "local": "vmrepl_local"}


class InventoryModule(BaseInventoryPlugin):
    NAME = "vmrepl.core.lab"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".vmrepl.yml", ".vmrepl.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            from vmrepl.lab import manager
        except ImportError as exc:
            raise AnsibleParserError(
                f"The lab inventory needs the vmrepl Python package ({exc}): run `make setup`."
            ) from exc

        state = manager.read_state()
        if not manager.is_running(state):
            if not self.get_option("autostart"):
                raise AnsibleParserError("The lab is not running: start it with `vmrepl lab up`.")
            spec = manager.LabSpec(
                edition=self.get_option("edition"),
                hosts=self.get_option("hosts_per_site"),
                vms=self.get_option("vms"),
                deployed=self.get_option("deployed"),
            )
            try:
                state, _ = manager.up(spec)
            except manager.LabError as exc:
                raise AnsibleParserError(f"The lab did not start: {exc}") from exc
        assert state is not None
        edition = state["edition"]
        inventory.add_group("vmrepl_sites")
        inventory.set_variable("vmrepl_sites", "vmrepl_edition", edition)
        # The stand-in ZVM appliance the lab deploys in place of the vendor's OVA.
        inventory.set_variable(
            "vmrepl_sites", "vmrepl_lab_appliance_ovf", str(manager.APPLIANCE_OVF)
        )
        for site in state["sites"]:
            name, vc, zvm = site["name"], site["vcenter"], site["zvm"]
            group = ROLE_GROUPS[name]
            inventory.add_group(group)
            inventory.add_child("vmrepl_sites", group)
            inventory.add_host(name, group=group)
            host_vars = {
                "ansible_connection": "local",
                # The controller's own Python: the modules run here, next to pyVmomi.
                "ansible_python_interpreter": sys.executable,
                "vmrepl_site_role": name,
                "vmrepl_vcenter_hostname": vc["host"],
                "vmrepl_vcenter_port": vc["port"],
                "vmrepl_vcenter_username": vc["username"],
                "vmrepl_vcenter_password": vc["password"],
                "vmrepl_vcenter_ca_file": vc["ca_file"],
                "vmrepl_zvm_url": zvm["url"],
                "vmrepl_zvm_username": zvm["username"],
                "vmrepl_zvm_password": zvm["password"],
                "vmrepl_zvm_ca_file": zvm["ca_file"],
                "vmrepl_zvm_license_key": zvm["license_key"],
            }
            for key, value in host_vars.items():
                inventory.set_variable(name, key, value)
            if name == "target":
                # The source ZVM pairs with the target on its pairing port, not its API port.
                inventory.set_variable("vmrepl_sites", "pairing_port", zvm["pairing_port"])
