#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: zvm_info
short_description: What a site's replication manager (ZVM) reports - site, peers, VRAs, VPGs, alerts
description:
  - Logs in to the ZVM (which checks the credentials and reachability) and reads the parts named
    in O(gather), each with one API call.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.zvm
options:
  gather:
    description:
      - What to read.
      - V(health) reads the site, peers, VRAs, VPGs and alerts and returns RV(health) too.
    type: list
    elements: str
    default: [site, peers, vras, vpgs, alerts]
    choices: [site, peers, vras, vpgs, alerts, vms, license, datastores, health]
  edition:
    description:
      - The edition of the site, for RV(health) - the remote edition's sites must be paired.
    type: str
    choices: [remote, local]
    default: remote
notes:
  - Read-only; supports check mode.
"""

EXAMPLES = r"""
- name: Read the replication health of a site
  vmrepl.core.zvm_info:
    zvm_url: "{{ vmrepl_zvm_url }}"
    zvm_username: "{{ vmrepl_zvm_username }}"
    zvm_password: "{{ vault_zvm_password }}"
    gather: [site, vpgs, alerts]
  register: vmrepl_zvm

- name: Read the health of a site of the local edition
  vmrepl.core.zvm_info:
    gather: [health]
    edition: local
  register: vmrepl_health
"""

RETURN = r"""
site:
  description: GET /v1/localsite, plus C(SiteIdentifier).
  returned: when site is gathered
  type: dict
peers:
  description: GET /v1/peersites, each with C(PairingStatusName).
  returned: when peers is gathered
  type: list
  elements: dict
vras:
  description: GET /v1/vras.
  returned: when vras is gathered
  type: list
  elements: dict
vpgs:
  description: GET /v1/vpgs.
  returned: when vpgs is gathered
  type: list
  elements: dict
alerts:
  description: GET /v1/alerts.
  returned: when alerts is gathered
  type: list
  elements: dict
vms:
  description: GET /v1/vms.
  returned: when vms is gathered
  type: list
  elements: dict
license:
  description:
    - GET /v1/license, with the licence key masked but for its last 4 characters
      (C(********ABCD)); the key itself is never returned or logged.
  returned: when license is gathered
  type: dict
datastores:
  description: GET /v1/datastores.
  returned: when datastores is gathered
  type: list
  elements: dict
health:
  description:
    - The site's replication health - healthy when paired (remote edition), every VPG meets its
      SLA and no error alert is on - with the problems found and a summary of the site.
  returned: when health is gathered
  type: dict
  contains:
    healthy:
      description: Whether the site is healthy.
      type: bool
    problems:
      description: What makes the site unhealthy, one sentence each.
      type: list
      elements: str
    zvm:
      description: The ZVM's site name.
      type: str
    version:
      description: The ZVM's version.
      type: str
    peers:
      description: The peer sites, C(site) and pairing C(status).
      type: list
      elements: dict
    vras_installed:
      description: How many VRAs are installed.
      type: int
    vras:
      description: How many VRAs there are.
      type: int
    vpgs:
      description: Each VPG's name, status, C(meeting_sla), RPO and journal history.
      type: list
      elements: dict
    alerts:
      description: The alerts that are on (not dismissed), C(level), C(help), C(description).
      type: list
      elements: dict
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import (
    argument_spec,
    run,
    zvm_client,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    PairingStatus,
    code_name,
    json_field,
    masked,
)
from ansible_collections.vmrepl.core.plugins.module_utils.health import PARTS, site_health
from ansible_collections.vmrepl.core.plugins.module_utils.pairing import site_id

#: What to gather → the ZVM client's method that reads it.
READERS = {
    "site": "local_site",
    "peers": "peer_sites",
    "vras": "vras",
    "vpgs": "vpgs",
    "alerts": "alerts",
    "vms": "vms",
    "license": "license",
    "datastores": "datastores",
}
CHOICES = [*READERS, "health"]


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            zvm=True,
            gather={
                "type": "list",
                "elements": "str",
                "default": ["site", "peers", "vras", "vpgs", "alerts"],
                "choices": CHOICES,
            },
            edition={"type": "str", "choices": ["remote", "local"], "default": "remote"},
        ),
        supports_check_mode=True,
    )
    gather = module.params["gather"]
    reads = list(dict.fromkeys([*gather, *PARTS])) if "health" in gather else gather

    def body():
        result: dict[str, Any] = {"changed": False}
        with zvm_client(module) as zvm:
            for part in (p for p in reads if p != "health"):
                result[part], secrets = masked(getattr(zvm, READERS[part])())
                # Ansible replaces these wherever they would appear in output and logs.
                module.no_log_values.update(secrets)
        if "site" in result:
            result["site"] = {**result["site"], "SiteIdentifier": site_id(result["site"])}
        for peer in result.get("peers", []):
            peer["PairingStatusName"] = code_name(PairingStatus, json_field(peer, "PairingStatus"))
        if "health" in gather:
            paired = module.params["edition"] == "remote"
            result["health"] = site_health(**{p: result[p] for p in PARTS}, paired=paired)
        result["msg"] = "Read " + ", ".join(reads) + "."
        return result

    run(module, body)


if __name__ == "__main__":
    main()
