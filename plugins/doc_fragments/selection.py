# Copyright: vmrepl contributors
# Apache License 2.0
"""The options that choose hosts and VMs (``module_utils/selection.py`` has their argument
spec), written once and named with the prefix each module uses:

- ``vmrepl.core.selection.hosts``: ``clusters``, ``custom_attribute``, ``names``, ``tag``;
- ``vmrepl.core.selection.customer_hosts``: ``clusters``, ``host_custom_attribute``,
  ``host_names``, ``host_tag``;
- ``vmrepl.core.selection.vms``: ``names``, ``folder``, ``custom_attribute``, ``tag``;
- ``vmrepl.core.selection.customer_vms``: ``vms``, ``vm_folder``, ``vm_custom_attribute``,
  ``vm_tag``.
"""

from __future__ import annotations

_TAG_READ = """\
      - Tags are read through the vCenter's Automation API (C(/rest)) with the same connection
        options - one lookup of the tag and one call for the objects carrying it."""


def _pair(first: str, second: str, what_first: str, what_second: str) -> str:
    return f"""\
    type: dict
    suboptions:
      {first}:
        description: {what_first}
        type: str
        required: true
      {second}:
        description: {what_second}
        type: str
        required: true"""


def _hosts(prefix: str) -> str:
    attribute, tag = f"{prefix}custom_attribute", f"{prefix}tag"
    return f"""
options:
  clusters:
    description:
      - Choose the hosts of these clusters (every cluster when empty).
      - A host must match every selection given (O(clusters), O({attribute}),
        O({prefix}names), O({tag})).
    type: list
    elements: str
    default: []
  {attribute}:
    description:
      - Choose only the hosts whose custom attribute O({attribute}.name) has the value
        O({attribute}.value).
{_pair("name", "value", "The custom attribute.", "Its value.")}
  {prefix}names:
    description: Choose only these hosts (no restriction by name when empty).
    type: list
    elements: str
    default: []
  {tag}:
    description:
      - Choose only the hosts that carry the vSphere tag O({tag}.name) of category
        O({tag}.category).
{_TAG_READ}
{_pair("category", "name", "The tag's category.", "The tag.")}
"""


def _vms(prefix: str, names: str) -> str:
    folder, attribute, tag = f"{prefix}folder", f"{prefix}custom_attribute", f"{prefix}tag"
    return f"""
options:
  {names}:
    description:
      - Choose these VMs, by name (each must exist).
      - The VMs chosen are those named plus those matching any of O({folder}),
        O({attribute}) and O({tag}).
    type: list
    elements: str
    default: []
  {folder}:
    description: Choose the VMs of this vCenter folder as well.
    type: str
  {attribute}:
    description:
      - Choose the VMs whose custom attribute O({attribute}.name) has the value
        O({attribute}.value) as well.
{_pair("name", "value", "The custom attribute.", "Its value.")}
  {tag}:
    description:
      - Choose the VMs that carry the vSphere tag O({tag}.name) of category O({tag}.category)
        as well.
{_TAG_READ}
{_pair("category", "name", "The tag's category.", "The tag.")}
"""


class ModuleDocFragment:
    HOSTS = _hosts("")
    CUSTOMER_HOSTS = _hosts("host_")
    VMS = _vms("", "names")
    CUSTOMER_VMS = _vms("vm_", "vms")
