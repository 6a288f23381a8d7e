#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: site_pairing
short_description: Pair a source site's replication manager with a target site's
description:
  - Remote edition only. Generates a pairing token on the target ZVM (O(peer_zvm_url)), pairs
    from the source ZVM (O(zvm_url)), and verifies that both sides say Paired.
  - A no-op when the sites are paired. While a pairing is in progress (a side says Pairing, the
    source lists a pairing it is still making, a PairSites or UnpairSites task of either ZVM has
    not ended, or the source refuses because a pairing is already in progress), it waits for it
    until both sides say Paired or O(timeout) has passed.
  - A half-done pairing (one side lists the other, or a side is Unpaired) is repaired, but only
    once it is known to be abandoned - nothing in progress, and unchanged for 30 seconds of
    watching; a pairing another run is making is never undone.
  - Two runs at the same moment - one pairs, the other waits for it and finds the sites paired;
    neither fails, and only the first reports a change.
  - Unpairs only with O(state=absent); unpairing deletes the VPGs between the sites.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.zvm
  - vmrepl.core.peer_zvm
  - vmrepl.core.zvm_pending
options:
  peer_host:
    description:
      - The target ZVM's address as the source ZVM reaches it on the pairing port. Defaults to
        the host of O(peer_zvm_url).
    type: str
  peer_port:
    description:
      - The target's pairing port, on which the source ZVM reaches the target ZVM - 9071 between
        appliances, 9081 for a Windows ZVM. It is not the port of the API (O(peer_zvm_url)).
    type: int
    default: 9071
  state:
    description: V(present) pairs; V(absent) unpairs.
    type: str
    default: present
    choices: [present, absent]
  keep_target_disks:
    description: With O(state=absent), keep the replica disks of the deleted VPGs.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for the pairing.
    type: int
    default: 600
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Pair the customer's source site with its target site
  vmrepl.core.site_pairing:
    zvm_url: "{{ hostvars['source'].vmrepl_zvm_url }}"
    zvm_username: "{{ hostvars['source'].vmrepl_zvm_username }}"
    zvm_password: "{{ vault_source_zvm_password }}"
    peer_zvm_url: "{{ hostvars['target'].vmrepl_zvm_url }}"
    peer_zvm_username: "{{ hostvars['target'].vmrepl_zvm_username }}"
    peer_zvm_password: "{{ vault_target_zvm_password }}"
    peer_port: 9071
"""

RETURN = r"""
status:
  description: The pairing status as each side reports the other, after the run.
  returned: always
  type: dict
  sample: {"source": "Paired", "target": "Paired"}
source_site:
  description: The source site's identifier and name.
  returned: when the ZVMs are deployed
  type: dict
target_site:
  description: The target site's identifier and name.
  returned: when the ZVMs are deployed
  type: dict
notes:
  description: What the run found along the way (a repaired half pairing, another run's pairing).
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure,
    not_applied,
    run,
    zvm_client,
    zvm_pending,
)
from ansible_collections.vmrepl.core.plugins.module_utils.pairing import (
    PendingPairingPlan,
    SitePairing,
    peer_address,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            zvm=True,
            peer_zvm=True,
            peer_host={"type": "str"},
            peer_port={"type": "int", "default": 9071},
            state={"type": "str", "default": "present", "choices": ["present", "absent"]},
            keep_target_disks={"type": "bool", "default": True},
            timeout={"type": "int", "default": 600},
            zvm_pending={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    p = module.params
    want_paired = p["state"] == "present"

    def body():
        host, port = peer_address(p["peer_host"], p["peer_zvm_url"], p["peer_port"])
        if zvm_pending(module, "deploy the ZVMs first"):
            return ensure(module, PendingPairingPlan(want_paired, host, port), not_applied)
        with zvm_client(module) as source, zvm_client(module, "peer_zvm") as target:
            pairing = SitePairing(source, target, timeout=p["timeout"])
            plan = pairing.plan(want_paired)
            return ensure(
                module, plan, lambda: pairing.apply(plan, host, port, p["keep_target_disks"])
            )

    run(module, body)


if __name__ == "__main__":
    main()
