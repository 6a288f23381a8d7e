#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: vpg_recovery
short_description: Failover test, local recovery, failover, move or failback of VPGs
description:
  - Carries out one testing or recovery operation on one or more VPGs, at the site of
    O(zvm_url) and O(hostname) - the VPGs' recovery site. VPGs that recover at another site
    are reported as skipped (the run at that site acts on them).
  - Plans first. When one VPG cannot be acted on - not found healthy (unless O(force)), in
    another operation, in its initial sync past O(sync_timeout), without the checkpoint asked
    for - the whole run is refused before anything changes, saying why.
  - V(failover_test) starts a test at the chosen checkpoint (in O(test_network) when given -
    the VPG's test network is pointed at it for the test and restored afterwards), validates
    each test VM and stops the test as passed or failed, with a summary.
  - V(failover), V(move), V(failback) and V(local_recovery) start the operation without
    committing it, validate the recovered VMs, then commit, roll back or leave it before commit
    as O(commit_policy) and O(rollback_on_failure) say. A move first tags a checkpoint. A
    failback moves a reverse-protected VPG home and protects it in the original direction.
  - Validation reads the recovery site's vCenter - each VM powered on; VMware Tools running
    and an address where Tools are installed; on the expected network (the test network, or
    the VPG's failover network) and no other. The RTO is the time from the start until all VMs
    were up; the RPO at start is the VPG's actual RPO plus the age of the chosen checkpoint.
  - A failover or move of a VPG whose VMs run at the recovery site already, and a failback of
    a VPG protected in the original direction, change nothing (V(unchanged)).
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.zvm
options:
  operation:
    description: The operation.
    type: str
    required: true
    choices: [failover_test, local_recovery, failover, move, failback]
  vpgs:
    description: The VPGs, by name.
    type: list
    elements: str
    required: true
  request_ref:
    description:
      - The customer's request reference (a ticket id); these operations are customer
        initiated. It tags the move's checkpoint and the test's summary.
    type: str
    required: true
  checkpoint_tag:
    description: Recover to the latest checkpoint with this tag (default - the latest checkpoint).
    type: str
  point_in_time:
    description: Recover to the latest checkpoint at or before this ISO 8601 time.
    type: str
  commit_policy:
    description:
      - After the validation of a failover, move, failback or local recovery - V(commit)
        (roll back instead when the validation failed and O(rollback_on_failure)), V(rollback)
        (a rehearsal) or V(none) (leave it before commit for the operator).
    type: str
    default: commit
    choices: [commit, rollback, none]
  rollback_on_failure:
    description: With O(commit_policy=commit), roll back when the validation failed.
    type: bool
    default: true
  shutdown_policy:
    description:
      - What a failover does with the protected VMs (when their site can be reached). For a move,
        V(force_shutdown) powers them off when a clean shutdown fails.
    type: str
    default: shutdown
    choices: [none, shutdown, force_shutdown]
  reverse_protection:
    description:
      - After a committed failover or move, protect the recovered VMs back to the original site
        (needed for a failback). A failback always restores the original direction.
    type: bool
    default: true
  force:
    description: Act on a VPG that is not MeetingSLA (for example when the protected site is down).
    type: bool
    default: false
  test_network:
    description:
      - With O(operation=failover_test), the network the test VMs join (an isolated one, see
        M(vmrepl.core.bubble_network)). Empty - the VPG's own test network.
    type: str
  local_mode:
    description:
      - With O(operation=local_recovery) - V(in_place) shuts the VMs down and replaces them by
        their recovered copies, which stay protected; V(new_vms) brings the copies up beside
        the running VMs (the VPG ends recovered).
    type: str
    default: in_place
    choices: [in_place, new_vms]
  home_site:
    description:
      - The site the VMs belong to (name or identifier). Default - the peer site for a failover
        or move (run them at the recovery site), this site for a failback (run it at home).
    type: str
  boot_timeout:
    description: Seconds to wait for the recovered VMs to be up.
    type: int
    default: 300
  sync_timeout:
    description: Seconds to wait for a VPG in its initial sync (0 - refuse it at once).
    type: int
    default: 600
  timeout:
    description: Seconds to wait for each ZVM task.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between reads of ZVM tasks and of the recovered VMs.
    type: float
    default: 2.0
  concurrency:
    description: VPGs acted on at once (their tasks are polled together).
    type: int
    default: 4
  require_all:
    description:
      - Refuse the whole run when one of O(vpgs) is not known to this ZVM (when this is the only
        site the operation runs at). Otherwise such a VPG is reported as V(not_found), for the
        run at the other site to act on.
    type: bool
    default: false
notes:
  - Supports check mode (the plan, with everything read and nothing changed) and diff mode.
"""

EXAMPLES = r"""
- name: Test the customer's VPG in the bubble network
  vmrepl.core.vpg_recovery:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    operation: failover_test
    vpgs: [123456-7-default]
    request_ref: CHG0012345
    test_network: vmrepl-bubble

- name: Move a VPG to the target site, with reverse protection
  vmrepl.core.vpg_recovery:
    operation: move
    vpgs: [123456-7-default]
    request_ref: CHG0012346
    reverse_protection: true
"""

RETURN = r"""
vpgs:
  description: One result per VPG.
  returned: always
  type: list
  elements: dict
  contains:
    vpg:
      description: The VPG's name.
      type: str
    status:
      description: planned, succeeded, failed, refused, not_run, unchanged, skipped or not_found.
      type: str
    message:
      description: What happened, for people.
      type: str
    checkpoint:
      description: The checkpoint recovered to (identifier, time, tag, how it was chosen).
      type: dict
    rpo_seconds:
      description: The RPO when the operation started.
      type: int
    rto_seconds:
      description: Seconds from the start until every recovered VM was up.
      type: float
    vms:
      description: Each recovered VM with its checks (check, result, detail).
      type: list
    recovery_hosts:
      description: The VPG's recovery hosts (where a test network must exist).
      type: list
    steps:
      description: The steps carried out, with their duration.
      type: list
    errors:
      description: What went wrong.
      type: list
site:
  description: The site of the run.
  returned: always
  type: str
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
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import (
    COMMIT_POLICIES,
    LOCAL_MODES,
    OPERATIONS,
)
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.run import (
    SHUTDOWN_POLICIES,
    Options,
    RecoveryRun,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            zvm=True,
            operation={"type": "str", "required": True, "choices": list(OPERATIONS)},
            vpgs={"type": "list", "elements": "str", "required": True},
            request_ref={"type": "str", "required": True},
            checkpoint_tag={"type": "str"},
            point_in_time={"type": "str"},
            commit_policy={"type": "str", "default": "commit", "choices": list(COMMIT_POLICIES)},
            rollback_on_failure={"type": "bool", "default": True},
            shutdown_policy={
                "type": "str",
                "default": "shutdown",
                "choices": list(SHUTDOWN_POLICIES),
            },
            reverse_protection={"type": "bool", "default": True},
            force={"type": "bool", "default": False},
            test_network={"type": "str"},
            local_mode={"type": "str", "default": "in_place", "choices": list(LOCAL_MODES)},
            home_site={"type": "str"},
            boot_timeout={"type": "int", "default": 300},
            sync_timeout={"type": "int", "default": 600},
            timeout={"type": "int", "default": 1800},
            poll_interval={"type": "float", "default": 2.0},
            concurrency={"type": "int", "default": 4},
            require_all={"type": "bool", "default": False},
        ),
        mutually_exclusive=[("checkpoint_tag", "point_in_time")],
        supports_check_mode=True,
    )
    options = Options.from_params(module.params)

    def body() -> dict[str, Any]:
        with zvm_client(module) as zvm, vsphere_client(module) as vc:
            recovery = RecoveryRun(zvm, vc, options, check_mode=module.check_mode)
            plan = recovery.recovery_plan(module.params["vpgs"])
            return ensure(module, plan, plan.apply)

    run(module, body)


if __name__ == "__main__":
    main()
