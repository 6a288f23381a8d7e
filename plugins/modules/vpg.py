#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vpg
short_description: A Virtual Protection Group as desired state
description:
  - Creates a VPG, or edits an existing one in place, so that its VMs and the fields given here
    are as desired, through the ZVM's vpgSettings workflow (open, PUT, add VMs, commit). Fields
    not given are left as the ZVM has them. O(state=absent) deletes the VPG.
  - VMs are chosen by name (O(vms)), by folder (O(vm_folder)), by custom attribute
    (O(vm_custom_attribute)) or by vSphere tag (O(vm_tag)) in the protected site's vCenter
    (O(hostname)).
  - VMs that cannot be protected are refused, with the reason, before anything changes - RDM or
    multi-writer disks, more than 60 disks, already in 3 VPGs or in a VPG to the same recovery
    site (a VM may be in at most 3 VPGs, each to a different site), or marked as a domain
    controller (O(domain_controller_attribute)).
  - The plan is made from reads only, so check mode writes nothing to the ZVM. It compares what
    GET /v1/vpgs shows (journal history, RPO alert, priority) and the VMs. The other given
    fields are shown by a settings object only, which is a write; check mode lists them in
    RV(unverified), and the apply compares them on the settings object it opens (deleted again
    when nothing differs).
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.zvm
  - vmrepl.core.selection.customer_vms
options:
  name:
    description:
      - The VPG's name; the provider's default is
        C(<account id>-<journal history days>-<suffix>). At most 80 characters - letters,
        digits, space, C(.), C(_) and C(-), starting with a letter or digit.
      - Required unless O(definitions) is given.
    type: str
  definitions:
    description:
      - Several VPGs at once, each a dict of this module's per-VPG options (C(name), the VMs,
        the fields, C(state), C(recovery_site), C(keep_recovery_volumes),
        C(domain_controller_attribute)), as vpg.yml's C(vpg_definitions).
      - The whole list is checked first - unknown keys (with the nearest known key), types,
        ranges, unsafe or too long names, duplicate names - then every VPG is planned from
        reads only, and only then is anything changed. Any problem refuses the run before a
        change, naming the entry and the key.
      - Exclusive with O(name) and the per-VPG options.
    type: list
    elements: dict
  variable:
    description: The name of the variable O(definitions) came from, for the messages.
    type: str
    default: definitions
  edition:
    description: V(remote) recovers to the paired peer site; V(local) to this site.
    type: str
    default: remote
    choices: [remote, local]
  recovery_site:
    description: With O(edition=remote), the peer site (name or identifier), when there are several.
    type: str
  domain_controller_attribute:
    description:
      - A VM whose custom attribute of this name is V(true) is a domain controller, and refused.
    type: str
    default: vmrepl.domain_controller
  skipped_hosts:
    description:
      - Hosts left out of this run, with the reason (maintenance mode, disconnected) - the
        deployment passes those its preflight found. A chosen VM that runs on one of them and
        is not in the VPG yet is left for a later run (RV(deferred)) instead of refusing the
        VPG; a VM in the VPG already stays in it.
    type: dict
    default: {}
  journal_history_hours:
    description: Journal history, 1 to 720 hours. The provider's default is 7 days.
    type: int
  rpo_alert_seconds:
    description: The target RPO; an alert turns on above it.
    type: int
  priority:
    description: The VPG's priority on the WAN.
    type: str
    choices: [Low, Medium, High]
  test_interval_minutes:
    description: How often a failover test is expected (262080 is six months).
    type: int
  wan_compression:
    description: Compress replication traffic.
    type: bool
  journal_hard_limit_mb:
    description: Journal hard limit per VM, at least 8192 MB.
    type: int
  journal_warning_mb:
    description: Journal warning threshold per VM, below the hard limit.
    type: int
  journal_datastore:
    description: The journal datastore at the recovery site.
    type: str
  recovery_host:
    description: The default recovery host (name). Exclusive with O(recovery_cluster).
    type: str
  recovery_cluster:
    description: The default recovery cluster (name). Exclusive with O(recovery_host).
    type: str
  recovery_datastore:
    description: The default recovery datastore (name).
    type: str
  recovery_folder:
    description: The default recovery folder (name).
    type: str
  failover_network:
    description: The network recovered VMs join on failover and move (name).
    type: str
  test_network:
    description:
      - The network test VMs join in a failover test, usually an isolated one (name, at most
        80 characters).
    type: str
  state:
    description: V(present) creates or updates; V(absent) deletes.
    type: str
    default: present
    choices: [present, absent]
  keep_recovery_volumes:
    description: With O(state=absent), keep the replica disks at the recovery site.
    type: bool
    default: false
  timeout:
    description: Seconds to wait for the commit.
    type: int
    default: 1800
notes:
  - Supports check mode and diff mode; the diff names each field that changes.
"""

EXAMPLES = r"""
- name: Default VPG of the customer's account
  vmrepl.core.vpg:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    name: 123456-7-default
    vm_folder: customer-a
    journal_history_hours: 168
    rpo_alert_seconds: 300
    recovery_cluster: dr-cluster
    recovery_datastore: dr-ds01
    failover_network: customer-a-prod
    test_network: customer-a-bubble
"""

RETURN = r"""
vpg:
  description: The VPG as GET /v1/vpgs reports it after the run (absent - null).
  returned: always
  type: dict
changes:
  description: Each field that differed, with the value before and after (names, not identifiers).
  returned: always
  type: dict
  sample: {"journal_history_hours": {"before": 24, "after": 168}}
vms:
  description: The VM names the VPG protects after the run.
  returned: always
  type: list
  elements: str
deferred:
  description: The chosen VMs left for a later run, with the reason (their host was skipped).
  returned: with O(name)
  type: dict
  sample: {"web02": "runs on host esx02, in maintenance mode"}
unverified:
  description:
    - In check mode, the given fields that only a settings object shows; the apply compares them.
  returned: in check mode
  type: list
  elements: str
refused:
  description: Chosen VMs that cannot be protected, with the reason (the run fails when any).
  returned: on failure
  type: dict
vpgs:
  description:
    - With O(definitions), one result per VPG in the order given - C(name), C(changed),
      C(changes), C(vms), C(msg) (and C(unverified) in check mode).
  returned: with definitions
  type: list
  elements: dict
problems:
  description: Every problem found in the input or the plan, each naming the entry and the key.
  returned: on refusal
  type: list
  elements: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure,
    run,
    vsphere_client,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import vm_selection_spec
from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
    NAMED_FIELDS,
    VpgManager,
    check_options,
    definitions_run,
    vpg_run,
)

FIELD_OPTIONS: dict[str, Any] = {
    "journal_history_hours": {"type": "int"},
    "rpo_alert_seconds": {"type": "int"},
    "priority": {"type": "str", "choices": ["Low", "Medium", "High"]},
    "test_interval_minutes": {"type": "int"},
    "wan_compression": {"type": "bool"},
    "journal_hard_limit_mb": {"type": "int"},
    "journal_warning_mb": {"type": "int"},
    **{option: {"type": "str"} for option in NAMED_FIELDS},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            zvm=True,
            name={"type": "str"},
            definitions={"type": "list", "elements": "dict"},
            variable={"type": "str", "default": "definitions"},
            edition={"type": "str", "default": "remote", "choices": ["remote", "local"]},
            recovery_site={"type": "str"},
            **vm_selection_spec("vm_", "vms"),
            domain_controller_attribute={"type": "str", "default": "vmrepl.domain_controller"},
            skipped_hosts={"type": "dict", "default": {}},
            state={"type": "str", "default": "present", "choices": ["present", "absent"]},
            keep_recovery_volumes={"type": "bool", "default": False},
            timeout={"type": "int", "default": 1800},
            **FIELD_OPTIONS,
        ),
        mutually_exclusive=[("recovery_host", "recovery_cluster"), ("name", "definitions")],
        required_one_of=[("name", "definitions")],
        supports_check_mode=True,
    )

    def body() -> dict[str, Any]:
        checked = check_options(module.params)  # before anything is read
        plan_of = vpg_run if checked["definitions"] is None else definitions_run
        with zvm_client(module) as zvm:
            manager = VpgManager(zvm, timeout=checked["timeout"])
            if checked["definitions"] is None and checked["state"] == "absent":  # no VMs to choose
                plan = vpg_run(manager, None, checked, module.check_mode)
                return ensure(module, plan, plan.apply)
            with vsphere_client(module) as vc:  # to choose the VMs
                plans = plan_of(manager, vc, checked, module.check_mode)
            return ensure(module, plans, plans.apply)

    run(module, body)


if __name__ == "__main__":
    main()
