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
    carrying a vSphere tag (the VMs matching any of them); without any of them, every VM.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.selection.vms
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
    run_with,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import (
    virtual_machines,
    vm_selection_spec,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            **vm_selection_spec(),
        ),
        supports_check_mode=True,
    )

    run_with(module, vsphere_client, virtual_machines)


if __name__ == "__main__":
    main()
