# Copyright: vmrepl contributors
# Apache License 2.0
"""The backup proxies' option; the customer's hosts are chosen by the options of
``vmrepl.core.selection.customer_hosts``."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  proxy_pattern:
    description:
      - A regular expression on VM names; a VM that matches and is registered on a host is
        that host's backup proxy (it counts when powered on).
    type: str
    default: ^backup-proxy-
"""
