#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: zvm_license
short_description: Apply the licence key to a site's replication manager (ZVM)
description:
  - A new ZVM refuses VRA installs, VPGs and pairing until it has a valid licence. This module
    reads C(GET /v1/license) and, when the ZVM has no licence or another key, applies
    O(license_key) with C(PUT /v1/license).
  - Idempotent - a ZVM that already has the key is left as it is.
  - The key is a secret - it is never logged, and results show it masked (its last four
    characters only).
version_added: 0.2.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.zvm
  - vmrepl.core.zvm_pending
options:
  license_key:
    description:
      - The licence key for this site, from Ansible Vault (C(vmrepl_zvm_license_key)).
    type: str
    required: true
notes:
  - Supports check mode and diff mode (keys masked).
  - Member of the C(vmrepl.core.zvm) action group, for C(module_defaults).
"""

EXAMPLES = r"""
- name: License the site's ZVM
  vmrepl.core.zvm_license:
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    license_key: "{{ vault_zvm_license_key }}"
"""

RETURN = r"""
license:
  description: The ZVM's licence after the run (in check mode, as it would be); key masked.
  returned: always
  type: dict
  contains:
    key: {description: The licence key, masked., type: str, sample: "********7Q2F"}
    type: {description: The licence type, as the ZVM reports it., type: str}
    expiry: {description: When the licence expires; null when it does not., type: str}
    max_vms: {description: How many VMs the licence protects at most., type: int}
previous_key:
  description: The key the ZVM had before, masked; null when it had none.
  returned: always
  type: str
msg:
  description: What happened, in a sentence.
  returned: always
  type: str
  sample: Applied licence key ********7Q2F (Enterprise, up to 1000 VMs).
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure_with,
    run,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.licenses import LicensePlan, plan_license


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            zvm=True,
            license_key={"type": "str", "required": True, "no_log": True},
            zvm_pending={"type": "bool", "default": False},
        ),
        supports_check_mode=True,
    )
    key = module.params["license_key"].strip()

    def body() -> dict[str, Any]:
        if not key:
            raise ConfigurationError(
                "license_key is empty: set vmrepl_zvm_license_key (Ansible Vault)."
            )
        return ensure_with(
            module,
            zvm_client,
            lambda zvm: plan_license(zvm, key),
            pending=lambda: LicensePlan(key=key, current=None),
            first="deploy the ZVM before licensing it",
        )

    run(module, body)


if __name__ == "__main__":
    main()
