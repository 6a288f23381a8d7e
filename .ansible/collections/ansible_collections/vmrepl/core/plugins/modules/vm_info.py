#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vm_info
short_description: The VMs of a vCenter, with what decides whether they can be protected
description:
  - Reads every VM of the vCenter (templates left out) with three PropertyCollector calls,
    however many VMs there are - name, folder, power state, disks (RDM, multi-writer) and
    custom attributes.
  - Optionally narrows them to the VMs named, of a folder, carrying a custom attribute, or
    carrying a vSphere tag (the VMs matching any of them).
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
options:
  names:
    description: Only these VMs (all must exist).
    type: list
    elements: str
    default: []
  folder:
    description: Only the VMs of this folder.
    type: str
  custom_attribute:
    description:
      - Only the VMs whose custom attribute O(custom_attribute.name) has O(custom_attribute.value).
    type: dict
    suboptions:
      name:
        description: The custom attribute.
        type: str
        required: true
      value:
        description: Its value.
        type: str
        required: true
  tag:
    description:
      - Only the VMs that carry the vSphere tag O(tag.name) of category O(tag.category).
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
- name: List the customer's VMs
  vmrepl.core.vm_info:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    folder: customer-a
  register: customer_vms
"""

RETURN = r"""
vms:
  description: The VMs.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web01
      moid: vm-42
      folder: customer-a
      power_state: poweredOn
      disks: [{"label": "Hard disk 1", "rdm": false, "multi_writer": false}]
      custom_attributes: {}
calls:
  description: The vSphere API round trips the read made (tag calls included).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    run,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import (
    choose_vms,
    discover_vms,
    tagged_objects,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            names={"type": "list", "elements": "str", "default": []},
            folder={"type": "str"},
            custom_attribute={
                "type": "dict",
                "options": {
                    "name": {"type": "str", "required": True},
                    "value": {"type": "str", "required": True},
                },
            },
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
            vms = discover_vms(client)
            if p["names"] or p["folder"] or p["custom_attribute"] or p["tag"]:
                vms = choose_vms(
                    vms,
                    p["names"],
                    p["folder"],
                    p["custom_attribute"],
                    tagged_objects(client, p["tag"], "VirtualMachine"),
                )
            return {
                "changed": False,
                "vms": vms,
                "calls": client.calls,
                "msg": f"{len(vms)} VM(s).",
            }

    run(module, body)


if __name__ == "__main__":
    main()
