# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: vra_pool_conflicts
short_description: What is wrong with the VRA address pools of a site pair, taken together
description:
  - Takes the sites of a play (their inventory variables) and returns one sentence per
    conflict - a pool (C(vra_ip_pool)) that holds its own gateway or the address of a site's
    ZVM (C(replication_manager_properties.ip_address), or the host of C(vmrepl_zvm_url) when it
    is an address), or two sites' pools that share addresses. Empty when there is none.
  - A pool that is not valid on its own (start after end, outside its subnet) fails the filter
    with the reason.
options:
  _input:
    description: The sites' variables, e.g. C(ansible_play_hosts_all | map('extract', hostvars)).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Refuse VRA address pools that overlap
  ansible.builtin.assert:
    that: _conflicts | length == 0
  vars:
    _sites: "{{ ansible_play_hosts_all | map('extract', hostvars) }}"
    _conflicts: "{{ _sites | vmrepl.core.vra_pool_conflicts }}"
  run_once: true
"""

RETURN = r"""
_value:
  description: One sentence per conflict.
  type: list
  elements: str
"""

import ipaddress
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConfigurationError
from ansible_collections.vmrepl.core.plugins.module_utils.vras import IpPool, pool_conflicts


def _address(value):
    try:
        return str(ipaddress.IPv4Address(str(value)))
    except ValueError:
        return None


def vra_pool_conflicts(sites):
    pools, reserved = {}, {}
    for site in sites:
        name = site.get("inventory_hostname")
        pool = site.get("vra_ip_pool") or {}
        if pool:
            try:
                pools[name] = IpPool(
                    start=str(pool.get("start", "")),
                    end=str(pool.get("end", "")),
                    subnet_mask=str(pool.get("subnet_mask", "")),
                    gateway=str(pool.get("gateway", "")),
                )
            except TypeError as exc:
                raise AnsibleFilterError(f"vra_ip_pool of {name}: {exc}") from exc
        properties = site.get("replication_manager_properties") or {}
        zvm = _address(properties.get("ip_address", "")) or _address(
            urlsplit(str(site.get("vmrepl_zvm_url", ""))).hostname or ""
        )
        if zvm:
            reserved[name] = {"ZVM": zvm}
    try:
        return pool_conflicts(pools, reserved)
    except ConfigurationError as exc:
        raise AnsibleFilterError(f"{exc.message} {exc.hint or ''}".strip()) from exc


class FilterModule:
    def filters(self):
        return {"vra_pool_conflicts": vra_pool_conflicts}
