#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: host_maintenance
short_description: A hypervisor into maintenance mode and back, keeping its VPGs protected
description:
  - Follows Zerto's "Managing Protection During VMware Host Maintenance".
  - O(state=enter) - the site's protected VMs on the host are vMotioned to other hosts with a
    running VRA first; the VMs that recover to the host's VRA get another recovery VRA
    (C(changerecoveryvra) potentials, then validate, then execute); then the host enters
    maintenance mode and the run waits for its VRA to report HostInMaintenanceMode, and for the
    VPGs to meet their SLA.
  - O(state=exit) - the host exits maintenance mode, its VRA (which stays off, per the vendor)
    is powered on, and the run waits for the VRA to be Installed and every VPG back to
    MeetingSLA and out of its sync substatuses.
  - The plan only reads (the ZVM's C(validate) changes nothing); a refusal (no other host with a
    VRA, the ZVM refusing the change of recovery VRA) comes before any change.
  - At a site whose vCenter has no host of that name the module changes nothing and returns
    RV(found=false).
  - Idempotent - a host already in (out of) maintenance mode with nothing to move is left as it
    is; the verification still runs.
version_added: 0.3.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.zvm
options:
  host:
    description: The hypervisor, as vCenter names it.
    type: str
    required: true
  state:
    description: C(enter) or C(exit) maintenance mode.
    type: str
    choices: [enter, exit]
    required: true
  timeout:
    description:
      - Seconds each step may take - the vMotions, the change of recovery VRA, the maintenance
        mode, the VPGs' SLA.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls.
    type: float
    default: 2.0
notes:
  - Supports check mode (what it would move and change, nothing changed) and diff mode.
  - Member of the C(vmrepl.core.vsphere) and C(vmrepl.core.zvm) action groups.
"""

EXAMPLES = r"""
- name: Take DC0_C0_H1 into maintenance mode
  vmrepl.core.host_maintenance:
    host: DC0_C0_H1
    state: enter

- name: And back
  vmrepl.core.host_maintenance:
    host: DC0_C0_H1
    state: exit
"""

RETURN = r"""
site:
  description: The site's name.
  returned: always
  type: str
host:
  description: The hypervisor.
  returned: always
  type: str
found:
  description: Whether this site's vCenter has the host.
  returned: always
  type: bool
vmotion:
  description: Protected VM name → the host it was (would be) vMotioned to.
  returned: always
  type: dict
recovery_moves:
  description: VM name → the host its recovery was (would be) moved to.
  returned: always
  type: dict
vra:
  description: The host's VRA.
  returned: always
  type: str
done:
  description: The steps carried out.
  returned: when changed
  type: list
  elements: str
vpgs_in_sla:
  description: The VPGs met their SLA at the end of the run.
  returned: when verified
  type: bool
msg:
  description: What happened.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure,
    run,
    vsphere_client,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.maintenance import HostMaintenance


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            zvm=True,
            host={"type": "str", "required": True},
            state={"type": "str", "required": True, "choices": ["enter", "exit"]},
            timeout={"type": "int", "default": 900},
            poll_interval={"type": "float", "default": 2.0},
        ),
        supports_check_mode=True,
    )
    p = module.params

    def body():
        with vsphere_client(module) as vsphere, zvm_client(module) as zvm:
            work = HostMaintenance(
                vsphere,
                zvm,
                host=p["host"],
                state=p["state"],
                timeout=p["timeout"],
                interval=p["poll_interval"],
            )
            plan = work.plan()
            result = ensure(module, plan, lambda: work.apply(plan))
            if plan.found and not module.check_mode:
                result.update(work.verify(plan))
            return result

    run(module, body)


if __name__ == "__main__":
    main()
