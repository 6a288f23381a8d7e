#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: bubble_network
short_description: The isolated ("bubble") network of failover tests on the recovery hosts
description:
  - Makes sure that each of O(hosts) has a standard port group O(name) on a vSwitch without
    uplinks (O(vswitch), added when absent), so that test VMs reach each other and nothing
    else - not the production network, not the customer's clients.
  - Refuses a name that would not be isolated - a distributed port group, or a port group of
    that name on a vSwitch with uplinks - before changing anything.
  - The VPGs' recovery hosts are what M(vmrepl.core.vpg_recovery) returns in check mode
    (C(recovery_hosts)).
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
options:
  name:
    description: The port group (and network) name.
    type: str
    required: true
  hosts:
    description: The hosts, by name.
    type: list
    elements: str
    required: true
  vswitch:
    description: The vSwitch without uplinks that holds the port group.
    type: str
    default: vmrepl-bubble
  vlan_id:
    description: The port group's VLAN id (the vSwitch has no uplinks, so it stays local).
    type: int
    default: 0
notes:
  - Supports check mode and diff mode.
  - vcsim files a standard port group as one network of the datacenter and refuses the same
    name on a second host; the module reports such a host as present.
"""

EXAMPLES = r"""
- name: Create the bubble network on the recovery hosts
  vmrepl.core.bubble_network:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    name: vmrepl-bubble
    hosts: [esx-dr-01, esx-dr-02]
"""

RETURN = r"""
hosts:
  description: Per host, C(added), C(present) or (check mode) C(would add).
  returned: always
  type: dict
  sample: {"esx-dr-01": "added", "esx-dr-02": "present"}
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils import bubble_network
from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure_with,
    run,
    vsphere_client,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            name={"type": "str", "required": True},
            hosts={"type": "list", "elements": "str", "required": True},
            vswitch={"type": "str", "default": bubble_network.DEFAULT_VSWITCH},
            vlan_id={"type": "int", "default": 0},
        ),
        supports_check_mode=True,
    )
    p = module.params

    def body() -> dict[str, Any]:
        hosts = sorted(set(p["hosts"]))
        if not hosts:
            return {"changed": False, "hosts": {}, "msg": "No hosts: nothing to do."}
        return ensure_with(
            module,
            vsphere_client,
            lambda vc: bubble_network.network_plan(
                vc, hosts, p["name"], p["vswitch"], p["vlan_id"]
            ),
        )

    run(module, body)


if __name__ == "__main__":
    main()
