#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: sizing_info
short_description: Size journals, the WAN link and the recovery cluster from measured write rates
description:
  - Reads the protected VMs' C(disk.write.average) history from the protected site's vCenter
    (statistics level 2 or more, a window of a day or more) with a few batched C(QueryPerf)
    calls - one per 64 VMs - and the recovery cluster's hosts and datastores from the recovery
    site's vCenter, then sizes the journals (per VM and VPG, the 8 GB minimum, the hard limit,
    test scratch), the WAN (P95, P98, peak, compression scenarios, the 5 Mb/s minimum, initial
    sync time) and checks that a failover of every VM fits the recovery cluster with
    O(parameters.hosts_down) host(s) down.
  - The VMs are chosen as the deployment chooses them (module_utils discovery) - by name,
    folder, custom attribute, vSphere tag or cluster - one selection per VPG.
  - The arithmetic is the Python package C(vmrepl.sizing), which must be installed with the
    controller's Python (it is, with the vmrepl command).
  - Units are SI - GB are 10^9 bytes, Mb/s are 10^6 bit/s, write rates KB/s with 1 KB = 1000 bytes.
version_added: 0.2.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
options:
  source:
    description:
      - Where the write rates come from - C(vcenter), the protected VMs' performance history,
        or C(zvm), the running customer's ZVM (its C(/v1/statistics/vms) counters read
        O(zvm_reads) times O(zvm_spacing_seconds) apart, C(/v1/reports/resources) for the
        journal used and what the VMs need, C(/v1/vpgs) for the RPOs) - then the plan is set
        beside what the ZVM measured, with a warning on drift.
    type: str
    choices: [vcenter, zvm]
    default: vcenter
  zvm_connection:
    description:
      - How to reach the protected site's ZVM, for O(source=zvm) - C(zvm_url), C(zvm_username),
        C(zvm_password), C(zvm_kind), C(zvm_validate_certs), C(zvm_ca_file).
    type: dict
    suboptions:
      zvm_url:
        description: The ZVM's URL (https).
        type: str
        required: true
      zvm_username:
        description: Its user.
        type: str
        required: true
      zvm_password:
        description: Its password.
        type: str
        required: true
      zvm_kind:
        description: C(appliance), C(windows) or C(auto).
        type: str
        default: auto
      zvm_validate_certs:
        description: Verify its TLS certificate.
        type: bool
        default: true
      zvm_ca_file:
        description: The CA that signed its certificate.
        type: str
  zvm_reads:
    description: Reads of the ZVM's counters (2 or more).
    type: int
    default: 4
  zvm_spacing_seconds:
    description: Seconds between two reads of the counters.
    type: float
    default: 5
  vpgs:
    description:
      - One selection of VMs per VPG - the vpg role's VPG definitions (C(vpg_definitions)) as
        they are - C(name), and the VMs by C(vms) (names), C(vm_folder), C(vm_custom_attribute)
        (C(name), C(value)), C(vm_tag) (C(category), C(name)), or C(clusters) (the VMs running
        on those clusters' hosts); the definitions' other keys are not used here.
      - With O(source=zvm) the VPGs' names only - the ZVM knows their VMs.
    type: list
    elements: dict
    required: true
  window_hours:
    description: The history read, in hours (24 or more).
    type: float
    default: 24
  parameters:
    description:
      - The sizing parameters - C(history_hours) (168), C(journal_compression) and
        C(wan_compression) (0, 50 or 70 %), C(journal_hard_limit_gb) (150), C(vcpus_per_core)
        (4), C(ram_ratio) (1), C(vra_memory_gb) (3), C(vra_vcpus) (1), C(hosts_down) (1),
        C(link_mbps) (the sized WAN), C(link_efficiency) (0.8), C(drift_tolerance) (0.2).
    type: dict
    default: {}
  recovery:
    description:
      - The recovery cluster and how to reach its vCenter (C(hostname), C(username),
        C(password), C(port), C(validate_certs), C(ca_file); the protected site's connection when
        C(hostname) is not given), and its datastores (all the cluster's when empty).
    type: dict
    suboptions:
      cluster:
        description: The recovery cluster.
        type: str
        required: true
      datastores:
        description: The datastores the recovered VMs, journals and scratch volumes go to.
        type: list
        elements: str
        default: []
      hostname:
        description: The recovery vCenter.
        type: str
      username:
        description: Its user.
        type: str
      password:
        description: Its password.
        type: str
      port:
        description: Its port.
        type: int
        default: 443
      validate_certs:
        description: Verify its TLS certificate.
        type: bool
        default: true
      ca_file:
        description: The CA that signed its certificate.
        type: str
notes:
  - Read-only; supports check mode.
"""

EXAMPLES = r"""
- name: Size the customer's default VPG from a day of vCenter statistics
  vmrepl.core.sizing_info:
    vpgs:
      - name: 100001-7-default
        vm_folder: customer-a
    recovery:
      cluster: DR-Cluster
      hostname: "{{ hostvars['target'].vmrepl_vcenter_hostname }}"
      username: "{{ hostvars['target'].vmrepl_vcenter_username }}"
      password: "{{ hostvars['target'].vmrepl_vcenter_password }}"
  register: sizing
"""

RETURN = r"""
sizing:
  description:
    - The sizing report (units, parameters, C(vms) with each VM's C(name), C(journal_gb),
      C(p98_write_kbps) and C(samples_raw) - the samples it was computed from -, C(vpgs),
      C(journal_total_gb), C(wan), C(wan_mbps), C(initial_sync), C(target) with C(fits),
      C(need), C(capacity) and C(short), C(notes)), and C(source) - the window, the interval
      and the calls made.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils import (  # noqa: F401
    discovery,  # vmrepl.sizing chooses the VMs with it: bundled with the module
)
from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    run,
    vsphere_client,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients import (  # noqa: F401
    zvm as _zvm_client,  # vmrepl.sizing.zvm reads with it: bundled with the module
)
from ansible_collections.vmrepl.core.plugins.module_utils.sizing import size

_ZVM = {
    "zvm_url": {"type": "str", "required": True},
    "zvm_username": {"type": "str", "required": True},
    "zvm_password": {"type": "str", "required": True, "no_log": True},
    "zvm_kind": {"type": "str", "default": "auto"},
    "zvm_validate_certs": {"type": "bool", "default": True},
    "zvm_ca_file": {"type": "str"},
}
_RECOVERY = {
    "cluster": {"type": "str", "required": True},
    "datastores": {"type": "list", "elements": "str", "default": []},
    "hostname": {"type": "str"},
    "username": {"type": "str"},
    "password": {"type": "str", "no_log": True},
    "port": {"type": "int", "default": 443},
    "validate_certs": {"type": "bool", "default": True},
    "ca_file": {"type": "str"},
}


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            vpgs={"type": "list", "elements": "dict", "required": True},
            window_hours={"type": "float", "default": 24},
            parameters={"type": "dict", "default": {}},
            recovery={"type": "dict", "options": _RECOVERY},
            source={"type": "str", "choices": ["vcenter", "zvm"], "default": "vcenter"},
            zvm_connection={"type": "dict", "options": _ZVM},
            zvm_reads={"type": "int", "default": 4},
            zvm_spacing_seconds={"type": "float", "default": 5},
        ),
        supports_check_mode=True,
    )
    p = module.params
    recovery = p["recovery"] or {}

    def body():
        return size(
            p,
            vcenter=lambda: vsphere_client(module),
            recovery_vcenter=lambda: vsphere_client(
                module, recovery if recovery.get("hostname") else None
            ),
            zvm=lambda: zvm_client(
                module, params=p["zvm_connection"], option="zvm_connection.zvm_url"
            ),
        )

    run(module, body)


if __name__ == "__main__":
    main()
