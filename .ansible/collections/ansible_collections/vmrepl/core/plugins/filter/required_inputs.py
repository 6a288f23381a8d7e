# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: required_inputs
short_description: The required options of a role's argument spec
description:
  - Reads C(<roles_dir>/<role>/meta/argument_specs.yml) and returns the names of the options of
    its C(main) entry point that are C(required), so that a preflight can refuse empty values of
    every input a deployment needs before anything changes.
positional: roles_dir
options:
  _input:
    description: The role's name.
    type: str
    required: true
  roles_dir:
    description: The folder that holds the roles.
    type: path
    required: true
"""

EXAMPLES = r"""
- name: Required inputs of the vra role
  ansible.builtin.debug:
    msg: "{{ 'vra' | vmrepl.core.required_inputs(role_path ~ '/..') }}"
"""

RETURN = r"""
_value:
  description: The names of the required options.
  type: list
  elements: str
"""

import os

import yaml
from ansible.errors import AnsibleFilterError


def required_inputs(role, roles_dir):
    path = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
    try:
        with open(path, encoding="utf-8") as handle:
            spec = yaml.safe_load(handle)
    except OSError as exc:
        raise AnsibleFilterError(f"required_inputs: cannot read {path}: {exc}") from exc
    options = spec["argument_specs"]["main"].get("options", {})
    return sorted(name for name, option in options.items() if option.get("required"))


class FilterModule:
    def filters(self):
        return {"required_inputs": required_inputs}
