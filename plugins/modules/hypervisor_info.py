#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: hypervisor_info
short_description: The customer-dedicated hypervisors of a site, with their datastores and networks
description:
  - Reads every host, datastore, network and cluster of a vCenter with a handful of
    PropertyCollector calls (not one call per object), and chooses the customer-dedicated
    hosts by cluster, by a vSphere custom attribute, by vSphere tag, or by name (a host must
    match every selection given).
  - Each host carries its ZVM identifier (C(<vCenter instance UUID>.<moref>)), as the site's
    ZVM names it.
  - Chosen hosts that are disconnected or in maintenance mode are returned in RV(skipped_hosts)
    with the reason, so that a deployment leaves them out and a later run picks them up.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.selection.hosts
notes:
  - Read-only; supports check mode.
"""

EXAMPLES = r"""
- name: Find the customer's hosts
  vmrepl.core.hypervisor_info:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    clusters: [customer-a]
    custom_attribute:
      name: vmrepl.dedicated
      value: customer-a
  register: vmrepl_hosts

- name: Find the hosts tagged for the customer
  vmrepl.core.hypervisor_info:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    tag:
      category: vmrepl
      name: customer-a
  register: vmrepl_hosts
"""

RETURN = r"""
chosen:
  description: The chosen hosts that can take a VRA now.
  returned: always
  type: list
  elements: str
skipped_hosts:
  description: Chosen hosts that cannot be used now, with the reason.
  returned: always
  type: dict
  sample: {"esx03": "in maintenance mode"}
hosts:
  description: Every host of the vCenter, chosen or not.
  returned: always
  type: list
  elements: dict
  sample:
    - name: esx01
      moid: host-21
      zvm_identifier: 4f0a0c52-4f4e-4d4e-9d4e-2b0c5e8d1a10.host-21
      cluster: customer-a
      connection_state: connected
      maintenance_mode: false
      version: 8.0.2
      datastores: [ds01]
      networks: [replication]
      custom_attributes: {"vmrepl.dedicated": "customer-a"}
datastores:
  description: Every datastore, by moref id, with capacity, free space and free percent.
  returned: always
  type: dict
networks:
  description: Every network, by moref id.
  returned: always
  type: dict
calls:
  description: The number of vSphere API round trips the discovery made (tag calls included).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    run_with,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import (
    host_selection_spec,
    hypervisors,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            **host_selection_spec(),
        ),
        supports_check_mode=True,
    )

    run_with(module, vsphere_client, hypervisors)


if __name__ == "__main__":
    main()
