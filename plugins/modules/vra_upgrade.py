#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vra_upgrade
short_description: Rolling upgrade of a site's outdated VRAs, batch by batch, gated on the VPGs' SLA
description:
  - Selects the site's outdated VRAs (C(VraVersion) older than the ZVM's C(Version) in
    C(GET /v1/localsite)) and upgrades them in batches of O(batch_size) - per cluster, or N hosts
    at a time in host order.
  - Before the first batch the VPGs must meet their SLA (waited for up to O(sla_timeout) seconds;
    otherwise the run is refused, nothing changed), and every VPG gets a tagged checkpoint named
    C(pre-upgrade-<request_ref>) unless it has one.
  - Each batch starts C(POST /v1/vras/{id}/upgrade) for its VRAs and polls their tasks together;
    then it waits until every VPG is back to MeetingSLA and out of its sync substatuses
    (DeltaSync, BitmapSync, ...; names read from C(/v1/vpgs/substatuses)) before the next batch.
  - The first failure stops the roll, saying where - C(stopped at host X, batch k of n) - with
    what was upgraded and what is left. A re-run continues with the VRAs still outdated.
  - Never calls C(PUT /v1/vras/clusters/{id}), which upgrades every VRA of a cluster at once.
  - Idempotent - a site whose VRAs are all current is left as it is (no checkpoint either).
version_added: 0.3.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.zvm
options:
  request_ref:
    description:
      - The change's reference (a ticket id). Names the tagged checkpoint and goes to the audit
        log. Required; an empty one is refused before anything is read.
    type: str
    required: true
  batch_size:
    description:
      - C(cluster) - one batch per cluster; or a whole number of hosts per batch.
    type: str
    default: "1"
  timeout:
    description: Seconds each batch's upgrade tasks (and the checkpoints) may take.
    type: int
    default: 1800
  sla_timeout:
    description:
      - Seconds to wait for the VPGs to meet their SLA again, before the first batch and after
        each.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls of the tasks and of the VPGs.
    type: float
    default: 2.0
notes:
  - Supports check mode (the batches and checkpoints it would make, nothing changed) and diff mode
    (each VRA's version before and after).
  - Member of the C(vmrepl.core.zvm) action group, for C(module_defaults).
  - Run it at one site at a time (the playbook has C(serial) 1) - the sites of a pair share
    their VPGs.
"""

EXAMPLES = r"""
- name: Roll the outdated VRAs of the site, two hosts at a time
  vmrepl.core.vra_upgrade:
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    request_ref: CHG0012345
    batch_size: "2"
"""

RETURN = r"""
site:
  description: The site's name.
  returned: always
  type: str
site_version:
  description: The ZVM's version, which the VRAs are brought to.
  returned: always
  type: str
  sample: 10.0.70.1310
batches:
  description:
    - The batches of the roll, in order; each a list of VRAs (vra, vra_id, host, cluster,
      version, target_version).
  returned: always
  type: list
  elements: list
outdated:
  description: The hosts whose VRA was outdated when the run began.
  returned: always
  type: list
  elements: str
current:
  description: The hosts whose VRA was already current.
  returned: always
  type: list
  elements: str
upgraded:
  description: The hosts whose VRA this run upgraded.
  returned: always
  type: list
  elements: str
left:
  description: The hosts whose VRA is still outdated after the run (empty when the roll finished).
  returned: always
  type: list
  elements: str
checkpoint:
  description: The name of the tagged checkpoint taken before the first batch.
  returned: always
  type: str
  sample: pre-upgrade-CHG0012345
checkpoints_tagged:
  description: The VPGs this run tagged.
  returned: when changed
  type: list
  elements: str
vpgs_not_ready:
  description: VPGs not meeting their SLA (or syncing) when the run planned.
  returned: always
  type: list
  elements: str
stopped_at:
  description: Where a stopped roll stopped (host, batch, batches).
  returned: on failure
  type: dict
msg:
  description: What happened, with the batches.
  returned: always
  type: str
  sample: "source: Upgraded 2 VRA(s) to 10.0.70.1310 in 2 batch(es): batch 1 (DC0_C0_H0); ..."
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure,
    run,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.upgrade import RollingUpgrade


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            zvm=True,
            request_ref={"type": "str", "required": True},
            batch_size={"type": "str", "default": "1"},
            timeout={"type": "int", "default": 1800},
            sla_timeout={"type": "int", "default": 900},
            poll_interval={"type": "float", "default": 2.0},
        ),
        supports_check_mode=True,
    )
    p = module.params

    def body():
        with zvm_client(module) as zvm:
            roll = RollingUpgrade(
                zvm,
                request_ref=p["request_ref"],
                batch_size=p["batch_size"],
                task_timeout=p["timeout"],
                sla_timeout=p["sla_timeout"],
                interval=p["poll_interval"],
            )
            plan = roll.plan()
            return ensure(module, plan, lambda: roll.apply(plan))

    run(module, body)


if __name__ == "__main__":
    main()
