# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: recovery_refusal
short_description: Why a testing or recovery run must be refused before anything happens
description:
  - Applies the service's rules to a requested operation, without calling anything - the
    operation must apply to the edition (local recovery to the local edition; failover, move
    and failback to the remote edition), the customer's request reference must be given, VPGs
    must be named, and a failover (or a local recovery in place) must be confirmed.
  - Returns the reason, or an empty string when the run may go ahead.
positional: edition, request_ref, vpgs, confirmed, local_mode
options:
  _input:
    description: The operation - failover_test, local_recovery, failover, move or failback.
    type: str
    required: true
  edition:
    description: The inventory's edition, local or remote.
    type: str
    required: true
  request_ref:
    description: The customer's request reference.
    type: str
    required: true
  vpgs:
    description: The VPGs of the run.
    type: list
    elements: str
    required: true
  confirmed:
    description: The explicit confirmation a failover needs.
    type: bool
    default: false
  local_mode:
    description: With a local recovery, in_place or new_vms.
    type: str
    default: in_place
"""

EXAMPLES = r"""
- name: Refuse a request that cannot be carried out
  ansible.builtin.assert:
    that: _reason | length == 0
    fail_msg: "{{ _reason }}"
  vars:
    _reason: >-
      {{ 'failover' | vmrepl.core.recovery_refusal(vmrepl_edition, request_ref, vpgs, confirm) }}
"""

RETURN = r"""
_value:
  description: Why the run is refused, or an empty string.
  type: str
"""

from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import refusal


def recovery_refusal(operation, edition, request_ref, vpgs, confirmed=False, local_mode="in_place"):
    if isinstance(vpgs, str):
        vpgs = [vpgs]
    return (
        refusal(
            str(operation),
            str(edition),
            None if request_ref is None else str(request_ref),
            [str(v) for v in vpgs or []],
            bool(confirmed),
            str(local_mode or "in_place"),
        )
        or ""
    )


class FilterModule:
    def filters(self):
        return {"recovery_refusal": recovery_refusal}
