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
options:
  clusters:
    description: Choose the hosts of these clusters. Empty means every cluster.
    type: list
    elements: str
    default: []
  custom_attribute:
    description:
      - Choose the hosts whose custom attribute O(custom_attribute.name) has the value
        O(custom_attribute.value).
    type: dict
    suboptions:
      name:
        description: The custom attribute.
        type: str
        required: true
      value:
        description: The value that marks a customer-dedicated host.
        type: str
        required: true
  names:
    description: Choose only these hosts. Empty means no restriction by name.
    type: list
    elements: str
    default: []
  tag:
    description:
      - Choose the hosts that carry the vSphere tag O(tag.name) of category O(tag.category).
      - Tags are read through the vCenter's Automation API (C(/rest)) with the same connection
        options - one lookup of the tag and one call for the objects carrying it.
    type: dict
    suboptions:
      category:
        description: The tag's category.
        type: str
        required: true
      name:
        description: The tag.
        type: str
        required: true
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
    run,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import NotFound
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import (
    choose_hosts,
    discover,
    tagged_objects,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            clusters={"type": "list", "elements": "str", "default": []},
            custom_attribute={
                "type": "dict",
                "options": {
                    "name": {"type": "str", "required": True},
                    "value": {"type": "str", "required": True},
                },
            },
            names={"type": "list", "elements": "str", "default": []},
            tag={
                "type": "dict",
                "options": {
                    "category": {"type": "str", "required": True},
                    "name": {"type": "str", "required": True},
                },
            },
        ),
        supports_check_mode=True,
    )
    p = module.params

    def body():
        with vsphere_client(module) as client:
            site = discover(client)
            known = {h["cluster"] for h in site.hosts}
            missing = [c for c in p["clusters"] if c not in known]
            if missing:
                raise NotFound(
                    f"clusters: {', '.join(missing)} not found in vCenter {p['hostname']}; "
                    f"it has {', '.join(sorted(c for c in known if c)) or 'no clusters'}."
                )
            chosen, skipped = choose_hosts(
                site.hosts,
                p["clusters"],
                p["custom_attribute"],
                p["names"],
                tagged_objects(client, p["tag"], "HostSystem"),
            )
            return {
                "changed": False,
                "chosen": chosen,
                "skipped_hosts": skipped,
                "hosts": site.hosts,
                "datastores": site.datastores,
                "networks": site.networks,
                "calls": client.calls,
                "msg": f"{len(chosen)} host(s) chosen, {len(skipped)} skipped, "
                f"of {len(site.hosts)} in vCenter.",
            }

    run(module, body)


if __name__ == "__main__":
    main()
