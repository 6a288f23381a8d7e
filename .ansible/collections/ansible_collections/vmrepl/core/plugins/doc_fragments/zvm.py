# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  zvm_url:
    description:
      - The replication manager's (ZVM) API address, for example V(https://zvm.example.com).
      - Falls back to the environment variable E(ZVM_URL).
    type: str
    required: true
  zvm_username:
    description:
      - The ZVM user (or the client id with O(zvm_kind=appliance) client credentials).
      - Falls back to E(ZVM_USERNAME).
    type: str
    required: true
  zvm_password:
    description:
      - The ZVM user's password. Keep it in Ansible Vault or the environment.
      - Falls back to E(ZVM_PASSWORD).
    type: str
    required: true
  zvm_kind:
    description:
      - V(appliance) is the ZVM Appliance (10.x, token endpoint); V(windows) the Windows ZVM
        (9.x, session API); V(auto) tries the appliance first.
      - Falls back to E(ZVM_KIND).
    type: str
    default: auto
    choices: [auto, appliance, windows]
  zvm_validate_certs:
    description:
      - Verify the ZVM's TLS certificate. Turn off only in a lab.
      - Falls back to E(ZVM_VALIDATE_CERTS).
    type: bool
    default: true
  zvm_ca_file:
    description:
      - A PEM file of the CA that signed the ZVM's certificate. Falls back to E(ZVM_CA_FILE).
    type: path
"""
