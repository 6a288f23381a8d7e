#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: backup_proxy
short_description: A VM recovery (backup) proxy on every customer-dedicated hypervisor
description:
  - Finds the customer's hosts in service that have no backup proxy (no VM matching
    O(proxy_pattern) registered there) and deploys the proxy appliance's OVA (or OVF) on each,
    as a VM named O(name_prefix) plus the host's name, on that host, through the same OVF
    import as M(vmrepl.core.zvm_appliance) (NFC lease, manifest checked, aborted imports
    cleaned up).
  - Hosts in maintenance mode or disconnected are skipped and reported
    (RV(skipped_hosts)); a later run picks them up. A proxy of ours found powered off is
    powered on. A host whose proxy name is taken by a VM on another host is reported in
    RV(blocked) and left alone.
  - Idempotent - a host with a proxy is left as it is; a second run changes nothing.
version_added: 0.2.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.selection.customer_hosts
  - vmrepl.core.backup_selection
options:
  name_prefix:
    description: Each proxy VM is named this plus its host's name; it must match
      O(proxy_pattern).
    type: str
    default: backup-proxy-
  ovf:
    description: Path, on the host that runs the module, of the proxy appliance's C(.ova), or
      of an C(.ovf) with its files beside it.
    type: path
    required: true
    aliases: [ova]
  datacenter:
    description: The datacenter of the hosts.
    type: str
    required: true
  datastore:
    description: The datastore of the proxies; it must be mounted on every host that gets
      one.
    type: str
    required: true
  network:
    description: The port group every network of the OVF is mapped onto.
    type: str
    required: true
  folder:
    description: The VM folder of the proxies (a path below the datacenter's VM folder).
    type: str
  properties:
    description:
      - OVF properties of every proxy, by their key in the OVF (the lab's stand-in declares
        V(hostname), V(ip_address), V(netmask), V(gateway), V(dns_servers),
        V(backup_server), V(admin_password)). Unknown keys are refused before anything
        changes.
      - V({host}) in a value is replaced by the host's name (for example
        V(proxy-{host}.example.com)).
    type: dict
    default: {}
  admin_password:
    description: The proxies' admin password, passed as OVF property
      O(admin_password_property). Never logged or returned.
    type: str
  admin_password_property:
    description: The OVF property key that receives O(admin_password).
    type: str
    default: admin_password
  power_on:
    description: Power the proxies on (a proxy counts only when it runs).
    type: bool
    default: true
  wait_for_ip:
    description: Wait for each proxy's IP address (vcsim never reports one - V(false) there).
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for each proxy's address.
    type: int
    default: 600
notes:
  - Supports check mode (the plan - the hosts that would get a proxy and the OVF and its
    properties validated - and nothing changed) and diff mode (host - proxy name).
  - Runs where the OVA is, usually the controller.
  - Member of the C(vmrepl.core.vsphere) action group, for C(module_defaults).
requirements:
  - pyVmomi
"""

EXAMPLES = r"""
- name: A backup proxy on every hypervisor of the customer's cluster
  vmrepl.core.backup_proxy:
    clusters: [customer-a]
    ovf: /srv/images/backup-proxy.ova
    datacenter: DC1
    datastore: mgmt-ds01
    network: backup-pg
    properties:
      hostname: "proxy-{host}.example.com"
      backup_server: backup.example.com
    admin_password: "{{ vault_backup_proxy_password }}"
  register: proxies
"""

RETURN = r"""
deployed:
  description: The proxies deployed or powered on by this run, by host.
  returned: always
  type: dict
  sample: {"esx01": "backup-proxy-esx01"}
planned:
  description: The proxies the run deploys (in check mode, would deploy), by host.
  returned: always
  type: dict
present:
  description: Hosts that have a proxy already, with its name(s).
  returned: always
  type: dict
skipped_hosts:
  description: Hosts not in service (maintenance mode, disconnected), with the reason.
  returned: always
  type: dict
  sample: {"esx03": "in maintenance mode"}
blocked:
  description: Hosts left alone, with the reason (the proxy name taken elsewhere; a proxy
    that is not ours powered off).
  returned: always
  type: dict
msg:
  description: What happened, in a sentence.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure_with,
    hide,
    run,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.appliance import ovf_vm_options
from ansible_collections.vmrepl.core.plugins.module_utils.backup import (
    SELECTION_ARGUMENT_SPEC,
    proxy_rollout,
    proxy_spec,
)


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            **SELECTION_ARGUMENT_SPEC,
            name_prefix={"type": "str", "default": "backup-proxy-"},
            **ovf_vm_options(required=True),
        ),
        supports_check_mode=True,
    )
    hide(module, proxy_spec(module.params).secret_values)

    def body():
        return ensure_with(
            module,
            vsphere_client,
            lambda vc: proxy_rollout(
                vc, module.params, lambda pct: module.debug(f"proxy upload {pct}%")
            ),
        )

    run(module, body)


if __name__ == "__main__":
    main()
