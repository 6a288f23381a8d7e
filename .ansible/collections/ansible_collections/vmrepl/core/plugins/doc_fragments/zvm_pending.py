# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  zvm_pending:
    description:
      - The site's ZVM is not deployed yet; the same run deploys it before this step.
      - Only in check mode (a plan of a new site) - the module plans against a new ZVM, which has
        nothing configured yet, without connecting to it. Outside check mode it is refused.
    type: bool
    default: false
"""
