#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vra
short_description: A Virtual Replication Appliance on every chosen hypervisor of a site
description:
  - Makes the chosen hosts of one site each have exactly one VRA (O(state=present)), or none
    (O(state=absent)), through the site's replication manager (ZVM).
  - All the installs of a site start at once and their tasks are polled together. A failed
    install names the host and the ZVM's reason; the other hosts still finish, and a later run
    picks the failed ones up.
  - Static addresses come from O(ip_pool); a host keeps the address its VRA already has.
  - An existing VRA whose memory, CPUs or bandwidth group differ from the options is edited in
    place, and C(--diff) shows the fields per host.
  - A VRA an interrupted run left installing is waited for, never installed twice.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.zvm
  - vmrepl.core.zvm_pending
options:
  hosts:
    description:
      - The hypervisors (as vCenter names them) that must have a VRA. Use
        M(vmrepl.core.hypervisor_info) to choose them by cluster, custom attribute or tag.
    type: list
    elements: str
    required: true
  skipped_hosts:
    description:
      - Hosts left out of this run, with the reason (for example maintenance mode); they are
        reported, not changed.
    type: dict
    default: {}
  datastore:
    description: The datastore of each host that holds the VRA. Required with O(state=present).
    type: str
  network:
    description: The network (port group) of the VRAs. Required with O(state=present).
    type: str
  memory_gb:
    description:
      - VRA memory, its I/O buffer (3 GB gives about 2.5 GB of buffer).
      - 1 to 16; another value is refused before anything is read or changed.
    type: int
    default: 3
  cpus:
    description:
      - VRA vCPUs, 1 to 4; another value is refused before anything is read or changed.
    type: int
    default: 1
  group:
    description: The bandwidth group of the VRAs.
    type: str
    default: default_group
  ip_pool:
    description:
      - Static addresses for the site's VRAs. Without it the VRAs use DHCP.
      - Validated before anything changes - inside the subnet, not the gateway, enough free
        addresses for the new VRAs, none taken by another VRA.
    type: dict
    suboptions:
      start:
        description: First address of the pool.
        type: str
        required: true
      end:
        description: Last address of the pool.
        type: str
        required: true
      subnet_mask:
        description: The VRA network's subnet mask.
        type: str
        required: true
      gateway:
        description: The VRA network's default gateway (never handed to a VRA).
        type: str
        required: true
  state:
    description: V(present) installs VRAs where missing; V(absent) uninstalls them.
    type: str
    default: present
    choices: [present, absent]
  timeout:
    description: Seconds to wait for the installs of the site.
    type: int
    default: 1800
notes:
  - Supports check mode and diff mode. The diff has C(vra_hosts) (the chosen hosts that have a
    VRA, before and after) when VRAs are installed or uninstalled, and C(settings) (per host,
    the fields an edit changes) when VRAs are edited; nothing when nothing changes.
"""

EXAMPLES = r"""
- name: Install a VRA on every customer-dedicated host
  vmrepl.core.vra:
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    hosts: "{{ vmrepl_hosts.chosen }}"
    skipped_hosts: "{{ vmrepl_hosts.skipped_hosts }}"
    datastore: vsanDatastore
    network: replication
    ip_pool:
      start: 10.20.30.11
      end: 10.20.30.40
      subnet_mask: 255.255.255.0
      gateway: 10.20.30.1

- name: Uninstall the VRA of a host leaving the service
  vmrepl.core.vra:
    hosts: [esx07.example.com]
    state: absent
"""

RETURN = r"""
installed:
  description: Hosts whose VRA this run installed.
  returned: always
  type: list
  elements: str
edited:
  description: Hosts whose VRA this run changed (memory, CPUs, bandwidth group).
  returned: always
  type: list
  elements: str
removed:
  description: Hosts whose VRA this run uninstalled.
  returned: always
  type: list
  elements: str
present:
  description: Hosts that already had a VRA.
  returned: always
  type: list
  elements: str
skipped_hosts:
  description: Hosts left out, with the reason.
  returned: always
  type: dict
failed_hosts:
  description: Hosts whose change failed, with the ZVM's reason.
  returned: always
  type: dict
planned:
  description: What the run does (or, in check mode, would do) - host and address per install.
  returned: always
  type: list
  elements: dict
  sample: [{"host": "esx01", "address": "10.20.30.11"}]
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    check_ranges,
    ensure_with,
    run,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.vras import (
    VRA_RANGES,
    IpPool,
    VraRollout,
    VraSettings,
    pending_plan,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            zvm=True,
            hosts={"type": "list", "elements": "str", "required": True},
            skipped_hosts={"type": "dict", "default": {}},
            datastore={"type": "str"},
            network={"type": "str"},
            memory_gb={"type": "int", "default": 3},
            cpus={"type": "int", "default": 1},
            group={"type": "str", "default": "default_group"},
            ip_pool={
                "type": "dict",
                "options": {
                    "start": {"type": "str", "required": True},
                    "end": {"type": "str", "required": True},
                    "subnet_mask": {"type": "str", "required": True},
                    "gateway": {"type": "str", "required": True},
                },
            },
            state={"type": "str", "default": "present", "choices": ["present", "absent"]},
            timeout={"type": "int", "default": 1800},
            zvm_pending={"type": "bool", "default": False},
        ),
        required_if=[("state", "present", ("datastore", "network"))],
        supports_check_mode=True,
    )
    p = module.params

    def body() -> dict[str, Any]:
        check_ranges(p, VRA_RANGES)
        settings = VraSettings(
            datastore=p["datastore"] or "",
            network=p["network"] or "",
            memory_gb=p["memory_gb"],
            cpus=p["cpus"],
            group=p["group"],
            ip_pool=IpPool(**p["ip_pool"]) if p["ip_pool"] else None,
        )
        want = (p["hosts"], settings, p["state"], p["skipped_hosts"])
        return ensure_with(
            module,
            zvm_client,
            lambda zvm: VraRollout(zvm, timeout=p["timeout"]).rollout_plan(*want),
            pending=lambda: pending_plan(*want),
        )

    run(module, body)


if __name__ == "__main__":
    main()
