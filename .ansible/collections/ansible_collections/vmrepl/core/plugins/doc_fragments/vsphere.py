# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  hostname:
    description:
      - The vCenter server's name or address.
      - Falls back to the environment variable E(VMWARE_HOST).
    type: str
    required: true
    aliases: [vcenter_hostname]
  username:
    description:
      - The vCenter user.
      - Falls back to the environment variable E(VMWARE_USER).
    type: str
    required: true
    aliases: [vcenter_username, user]
  password:
    description:
      - The vCenter user's password. Keep it in Ansible Vault or the environment.
      - Falls back to the environment variable E(VMWARE_PASSWORD).
    type: str
    required: true
    aliases: [vcenter_password, pass, pwd]
  port:
    description:
      - The vCenter HTTPS port. Falls back to E(VMWARE_PORT).
    type: int
    default: 443
  validate_certs:
    description:
      - Verify the vCenter's TLS certificate. Turn off only in a lab.
      - Falls back to E(VMWARE_VALIDATE_CERTS).
    type: bool
    default: true
  ca_file:
    description:
      - A PEM file of the CA that signed the vCenter's certificate, when it is not in the
        system's trust store. Falls back to E(VMWARE_CA_FILE).
    type: path
"""
