#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: zvm_appliance
short_description: Deploy the replication manager appliance (ZVM Appliance) to a site's vCenter
description:
  - Imports the vendor's ZVM Appliance OVA (or an OVF with its files) into a site's vCenter as
    a VM on a cluster or host, a datastore and a network, with its first-boot settings passed as
    OVF properties; powers it on, and optionally waits for its IP address and for its API.
  - The import goes through vCenter's OVF manager and an NFC lease; every file is uploaded over
    HTTPS with the same certificate checks as the vCenter connection (O(validate_certs),
    O(ca_file)). If anything fails during the upload the lease is aborted and the partly
    imported VM removed, so nothing half-imported stays behind.
  - Idempotent by name. When a VM called O(name) exists in O(datacenter), nothing is imported
    and nothing about it is changed, except that it is powered on when O(power_on=true) and it is
    off. An existing appliance is never redeployed or reconfigured; to redeploy one, remove it
    with O(state=absent) first.
  - With O(state=absent) the VM is powered off and deleted.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
options:
  name:
    description: The VM name of the appliance, unique in the datacenter.
    type: str
    required: true
  state:
    description: V(present) deploys (or finds) the appliance; V(absent) removes it.
    type: str
    default: present
    choices: [present, absent]
  ovf:
    description:
      - Path, on the host that runs the module, of the appliance's C(.ova) file, or of an
        C(.ovf) descriptor with the files it references in the same folder.
      - A manifest (C(.mf)) in the package is checked; a file that does not match it stops the
        import.
      - Required with O(state=present).
    type: path
    aliases: [ova]
  datacenter:
    description: The datacenter to deploy into and to look for the VM in.
    type: str
    required: true
  cluster:
    description:
      - The cluster to deploy into (vCenter places the VM on one of its hosts).
      - One of O(cluster) and O(host) is required with O(state=present).
    type: str
  host:
    description:
      - The ESXi host to deploy onto (by its name in vCenter). The datastore and network must be
        available on it.
    type: str
  datastore:
    description: The datastore for the appliance's files and disks (thin provisioned).
    type: str
  network:
    description:
      - The port group (standard or distributed) of the management network; every network the
        OVF declares is mapped onto it.
      - Required with O(state=present).
    type: str
  folder:
    description:
      - The VM folder, as a path below the datacenter's VM folder (V(Infrastructure/Zerto)) or
        in full (V(/DC1/vm/Infrastructure/Zerto)). Defaults to the datacenter's VM folder.
    type: str
  properties:
    description:
      - OVF properties (first-boot settings) by their key in the OVF, for example the
        appliance's address, netmask, gateway, DNS servers and host name.
      - Keys must be declared by the OVF; unknown keys are refused before anything changes.
        The vendor's OVA names its own keys - read them from its descriptor (the lab's stand-in
        uses V(ip_address), V(netmask), V(gateway), V(dns_servers), V(ntp_servers),
        V(hostname), V(admin_password)).
      - Do not put credentials here; use O(admin_password). Values of keys the OVF marks as
        passwords, or whose name looks like a credential, are masked in the diff and results.
    type: dict
    default: {}
  admin_password:
    description:
      - The appliance's admin password, passed as the OVF property O(admin_password_property).
      - Keep it in Ansible Vault. It is never logged or returned. Like every OVF property, the
        value is stored in the VM's vApp options in vCenter, where the appliance reads it on
        first boot; change it on the appliance after deployment if that matters.
    type: str
  admin_password_property:
    description: The OVF property key that receives O(admin_password).
    type: str
    default: admin_password
  power_on:
    description: Power the appliance on after deploying it (and when it is found powered off).
    type: bool
    default: true
  wait_for_ip:
    description:
      - After power-on, wait until VMware Tools in the appliance report an IP address.
      - Simulated vCenters (vcsim, as in the vmrepl lab) never report a guest address, so set
        V(false) there; the module does not pretend that the address in O(properties) was
        reported.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the IP address, and again for the API (O(api_url)).
    type: int
    default: 600
  api_url:
    description:
      - The appliance's API address, for example V(https://zvm.example.com). When given, wait
        until C(GET {api_url}/v1/localsite) answers HTTP 200 or 401 (the API is up; 401 means it
        wants a login).
    type: str
  api_validate_certs:
    description: Verify the TLS certificate of O(api_url). Turn off only in a lab.
    type: bool
    default: true
  api_ca_file:
    description: A PEM file of the CA that signed the certificate of O(api_url).
    type: path
notes:
  - Supports check mode (everything is looked up and validated - datacenter, cluster or host,
    datastore, network, folder, the OVF and its properties - and nothing is changed) and diff
    mode (C(vm), the VM before and after with the key settings, secrets masked, when it
    changes).
  - Runs where the OVA is, usually the controller (O(ignore:delegate_to=localhost) on the task);
    that host must reach vCenter and, for the upload, the ESXi hosts on port 443.
  - Member of the C(vmrepl.core.vsphere) action group, for C(module_defaults).
requirements:
  - pyVmomi
"""

EXAMPLES = r"""
- name: Deploy the replication manager appliance at the site
  vmrepl.core.zvm_appliance:
    hostname: "{{ vmrepl_vcenter_hostname }}"
    username: "{{ vmrepl_vcenter_username }}"
    password: "{{ vault_vcenter_password }}"
    name: zvma-site1
    ovf: /srv/images/ZVM_Appliance_10.0_U6.ova
    datacenter: DC1
    cluster: Management
    datastore: mgmt-ds01
    network: mgmt-pg
    folder: Infrastructure/Zerto
    properties:
      ip_address: 10.20.0.15
      netmask: 255.255.255.0
      gateway: 10.20.0.1
      dns_servers: 10.20.0.2
      hostname: zvma-site1.example.com
    admin_password: "{{ vault_zvma_admin_password }}"
    api_url: https://zvma-site1.example.com
    api_ca_file: /etc/pki/vmrepl/site1-ca.pem
  delegate_to: localhost

# The vCenter connection can also come from module_defaults (group/vmrepl.core.vsphere) or the
# environment (VMWARE_HOST, VMWARE_USER, VMWARE_PASSWORD, VMWARE_CA_FILE), as below.
- name: Deploy the lab's stand-in appliance on vcsim, which never reports guest addresses
  vmrepl.core.zvm_appliance:
    name: zvma-lab
    ovf: "{{ playbook_dir }}/../src/vmrepl/lab/assets/appliance/zvm-appliance.ovf"
    datacenter: DC0
    host: DC0_C0_H0
    datastore: LocalDS_0
    network: VM Network
    properties:
      ip_address: 192.0.2.10
    admin_password: "{{ vault_zvma_admin_password }}"
    wait_for_ip: false

- name: Remove the appliance
  vmrepl.core.zvm_appliance:
    name: zvma-site1
    datacenter: DC1
    state: absent
"""

RETURN = r"""
vm:
  description: The appliance VM after the run (before its removal with O(state=absent)); absent
    in check mode when the VM would be deployed.
  returned: when the VM exists or existed
  type: dict
  contains:
    name: {description: The VM name., type: str}
    moid: {description: The VM's managed object id., type: str, sample: vm-44}
    instance_uuid: {description: The VM's instance UUID., type: str}
    power_state: {description: poweredOn, poweredOff or suspended., type: str}
    host: {description: The ESXi host it runs on., type: str}
    datastores: {description: The datastores of its files., type: list, elements: str}
    ip_address: {description: The address VMware Tools report, or null., type: str}
    tools_running_status: {description: VMware Tools state as vCenter reports it., type: str}
actions:
  description: What was done (or, in check mode, would be done).
  returned: always
  type: list
  elements: str
  sample: [import, power on]
api_ready:
  description: Whether O(api_url) answered; null when not asked or not waited for.
  returned: always
  type: bool
msg:
  description: What happened, in a sentence.
  returned: always
  type: str
  sample: Deployed VM zvma-site1 from ZVM_Appliance_10.0_U6.ova.
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    ensure_with,
    hide,
    run,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.appliance import (
    api_ready,
    ovf_vm_options,
    plan_ovf_vm,
    spec_from_params,
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            name={"type": "str", "required": True},
            state={"type": "str", "default": "present", "choices": ["present", "absent"]},
            **ovf_vm_options(),
            cluster={"type": "str"},
            host={"type": "str"},
            api_url={"type": "str"},
            api_validate_certs={"type": "bool", "default": True},
            api_ca_file={"type": "path"},
        ),
        required_if=[
            ("state", "present", ("ovf", "datastore", "network")),
            ("state", "present", ("cluster", "host"), True),
        ],
        mutually_exclusive=[("cluster", "host")],
        supports_check_mode=True,
    )
    p = module.params
    spec = spec_from_params(p)
    hide(module, spec.secret_values)  # never shown, whatever the key is called

    def body() -> dict[str, Any]:
        result = ensure_with(
            module,
            vsphere_client,
            lambda vc: plan_ovf_vm(
                vc,
                spec,
                state=p["state"],
                on_progress=lambda pct: module.debug(f"OVF upload {pct}%"),
            ),
        )
        return {**result, "api_ready": api_ready(result["vm"], p)}

    run(module, body)


if __name__ == "__main__":
    main()
