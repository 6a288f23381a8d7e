#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: backup_readiness_info
short_description: Whether a site meets the VM recovery (backup) service's requirements
description:
  - Reads the site's vCenter in two PropertyCollector calls (hosts, datastores, VMs with their
    custom attributes, snapshots and consolidation state; and the custom attribute names),
    however many VMs there are, and checks the backup service's rules.
  - A backup proxy on every customer-dedicated hypervisor in service (a VM matching
    O(proxy_pattern), registered there and powered on). Hosts in maintenance mode or
    disconnected are reported apart (RV(readiness.hosts_out_of_service)), not judged.
  - The datastores holding the customer's VMs, WARNING under O(warning_free_percent) free and
    CRITICAL under O(critical_free_percent) (backup jobs stop). With O(zvm_datastores) (the
    ZVM's C(GET /v1/datastores)), the journal and scratch space replication has provisioned
    and not yet written is taken off the free space first.
  - The backup RPO per VM, from the custom attribute O(last_backup_attribute) - CRITICAL when
    the last backup is older than O(rpo_hours), or the attribute is missing or unreadable.
  - Snapshot hygiene (WARNING) - disks needing consolidation, snapshots older than
    O(snapshot_max_age_hours); with O(require_cbt), changed block tracking off.
  - VMs that cannot meet the requirements (no proxy on their host, a datastore under
    O(warning_free_percent)) are listed in RV(readiness.advice) with the advice to consider
    VM Replication Local Edition.
  - The customer's VMs are those O(vms), O(vm_folder), O(vm_custom_attribute) and O(vm_tag)
    choose; with none of them, those on the chosen hosts, except proxies and O(vms_exclude).
version_added: 0.2.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.vsphere
  - vmrepl.core.selection.customer_hosts
  - vmrepl.core.selection.customer_vms
  - vmrepl.core.backup_selection
options:
  vms_exclude:
    description: Regular expressions on VM names of infrastructure VMs that are not the
      customer's (VRAs, the replication manager).
    type: list
    elements: str
    default: ["^Z-VRA-"]
  last_backup_attribute:
    description:
      - The vCenter custom attribute the backup product writes the last backup into
        (V(NB_LAST_BACKUP) for NetBackup; a Veeam job's C(VmAttributeName), e.g.
        V(Last Backup)).
    type: str
    default: NB_LAST_BACKUP
  last_backup_format:
    description:
      - How to read the attribute - V(iso) (ISO 8601; a time without an offset is UTC),
        V(netbackup) (comma-separated, the time first, as C(Tue Dec 01 20:00:00 2026 +0000)),
        V(epoch) (seconds since 1970), or V(auto) (each in that order).
    type: str
    default: auto
    choices: [auto, iso, netbackup, epoch]
  rpo_hours:
    description: The backup RPO; a VM whose last backup is older is CRITICAL.
    type: float
    default: 24
  warning_free_percent:
    description: A datastore holding the customer's VMs with less free space is WARNING.
    type: float
    default: 15
  critical_free_percent:
    description: With less free space it is CRITICAL (backup jobs stop).
    type: float
    default: 10
  snapshot_max_age_hours:
    description: A snapshot older than this is reported as left behind (WARNING).
    type: float
    default: 24
  require_cbt:
    description: Report VMs whose changed block tracking is off (WARNING).
    type: bool
    default: false
  zvm_datastores:
    description:
      - The ZVM's datastores (C(GET /v1/datastores), as M(vmrepl.core.zvm_info) with
        C(gather=[datastores]) returns them), when the site has a ZVM; their journal and
        scratch usage is counted. Omit where there is no ZVM.
    type: list
    elements: dict
notes:
  - Read-only; supports check mode.
  - Member of the C(vmrepl.core.vsphere) action group, for C(module_defaults).
requirements:
  - pyVmomi
"""

EXAMPLES = r"""
- name: Check the site's backup readiness (NetBackup writes NB_LAST_BACKUP)
  vmrepl.core.backup_readiness_info:
    clusters: [customer-a]
  register: backup

- name: With the ZVM's journals and scratch counted, Veeam's attribute
  vmrepl.core.backup_readiness_info:
    clusters: [customer-a]
    last_backup_attribute: Last Backup
    last_backup_format: iso
    zvm_datastores: "{{ zvm.datastores }}"
"""

RETURN = r"""
readiness:
  description: The site's readiness report.
  returned: always
  type: dict
  contains:
    status: {description: OK, WARNING or CRITICAL (the worst problem)., type: str}
    exit_code: {description: The monitoring-plugin code of the status (0, 1, 2)., type: int}
    summary: {description: One line of counts., type: str}
    hosts:
      description: The customer's hosts with their proxies (in_service, proxies, status).
      type: list
      elements: dict
    hosts_without_proxy: {description: Hosts in service with no running proxy., type: list,
      elements: str}
    hosts_out_of_service: {description: Hosts skipped, with the reason., type: dict}
    datastores:
      description: Datastores holding the customer's VMs - capacity, free, the free percent
        after replication's claim, journal and scratch bytes (null without a ZVM), status.
      type: list
      elements: dict
    vms:
      description: The customer's VMs - last backup (ISO time and epoch seconds), age in
        hours, snapshots, consolidation, status and problems.
      type: list
      elements: dict
    problems: {description: "Every problem: level, kind (proxy, datastore, vm), object,
      message.", type: list, elements: dict}
    advice: {description: VMs that cannot meet the requirements, with the reasons and the
      advice., type: list, elements: dict}
    perfdata_items: {description: The performance data items., type: list, elements: str}
    perfdata: {description: Monitoring-plugin performance data., type: str,
      sample: "'ds_free_ds01'=12%;15:;10:;0;100 'backup_age_vm1'=108000s;;86400"}
skipped_hosts:
  description: The customer's hosts out of service (maintenance mode, disconnected), with the
    reason - reported, not judged.
  returned: always
  type: dict
  sample: {"esx03": "in maintenance mode"}
calls:
  description: vSphere round trips the read made.
  returned: always
  type: int
msg:
  description: The summary line with the status.
  returned: always
  type: str
"""

from datetime import UTC, datetime

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    run_with,
    vsphere_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.backup import (
    FORMATS,
    SELECTION_ARGUMENT_SPEC,
    readiness,
)
from ansible_collections.vmrepl.core.plugins.module_utils.selection import vm_selection_spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            vsphere=True,
            **SELECTION_ARGUMENT_SPEC,
            **vm_selection_spec("vm_", "vms"),
            vms_exclude={"type": "list", "elements": "str", "default": ["^Z-VRA-"]},
            last_backup_attribute={"type": "str", "default": "NB_LAST_BACKUP"},
            last_backup_format={"type": "str", "default": "auto", "choices": list(FORMATS)},
            rpo_hours={"type": "float", "default": 24},
            warning_free_percent={"type": "float", "default": 15},
            critical_free_percent={"type": "float", "default": 10},
            snapshot_max_age_hours={"type": "float", "default": 24},
            require_cbt={"type": "bool", "default": False},
            zvm_datastores={"type": "list", "elements": "dict"},
        ),
        supports_check_mode=True,
    )

    run_with(module, vsphere_client, lambda client, p: readiness(client, p, datetime.now(UTC)))


if __name__ == "__main__":
    main()
