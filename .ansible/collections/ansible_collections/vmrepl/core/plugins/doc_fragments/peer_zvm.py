# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  peer_zvm_url:
    description:
      - The peer (target) site's ZVM API address. Falls back to E(PEER_ZVM_URL).
    type: str
    required: true
  peer_zvm_username:
    description: The peer ZVM user. Falls back to E(PEER_ZVM_USERNAME).
    type: str
    required: true
  peer_zvm_password:
    description:
      - The peer ZVM user's password. Keep it in Ansible Vault or the environment.
      - Falls back to E(PEER_ZVM_PASSWORD).
    type: str
    required: true
  peer_zvm_kind:
    description: As O(zvm_kind), for the peer. Falls back to E(PEER_ZVM_KIND).
    type: str
    default: auto
    choices: [auto, appliance, windows]
  peer_zvm_validate_certs:
    description: Verify the peer ZVM's TLS certificate. Falls back to E(PEER_ZVM_VALIDATE_CERTS).
    type: bool
    default: true
  peer_zvm_ca_file:
    description: The CA of the peer ZVM's certificate. Falls back to E(PEER_ZVM_CA_FILE).
    type: path
"""
