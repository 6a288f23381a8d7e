# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  clusters:
    description:
      - The customer-dedicated hypervisors are the hosts of these clusters (all clusters when
        empty). A host must match every selection given, as in the deployment's preflight.
    type: list
    elements: str
    default: []
  host_custom_attribute:
    description: Only the hosts whose custom attribute O(host_custom_attribute.name) has
      O(host_custom_attribute.value).
    type: dict
    suboptions:
      name:
        description: The custom attribute.
        type: str
        required: true
      value:
        description: Its value.
        type: str
        required: true
  host_names:
    description: Only these hosts.
    type: list
    elements: str
    default: []
  host_tag:
    description: Only the hosts carrying the vSphere tag O(host_tag.name) of category
      O(host_tag.category) (read through the vCenter's Automation API).
    type: dict
    suboptions:
      category:
        description: The tag's category.
        type: str
        required: true
      name:
        description: The tag.
        type: str
        required: true
  proxy_pattern:
    description:
      - A regular expression on VM names; a VM that matches and is registered on a host is
        that host's backup proxy (it counts when powered on).
    type: str
    default: ^backup-proxy-
"""
