# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
name: evidence_path
short_description: Where vmrepl keeps the evidence of a run (reports, the audit log)
description:
  - V(reports) - the folder for a run's reports - E(VMREPL_REPORT_DIR) when set; else, in a run
    of ansible-runner (and so of Automation Platform and the vmrepl command), the run's own
    artifact folder (C(<artifact dir>/vmrepl-reports)), kept with the run's events; else the
    controller user's state folder (C($XDG_STATE_HOME/vmrepl/reports), by default
    C(~/.local/state/vmrepl/reports)).
  - V(audit) - the audit log, one line per customer-initiated run, across runs -
    E(VMREPL_AUDIT_LOG) when set, else C($XDG_STATE_HOME/vmrepl/audit.jsonl).
  - Never a path inside the collection, which an execution environment throws away. (In an
    execution environment the state folder is thrown away too - set the variables to a mounted
    volume there; the roles also return their evidence as job artifacts, with set_stats.)
options:
  _terms:
    description: V(reports) or V(audit).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
recovery_report_dir: "{{ lookup('vmrepl.core.evidence_path', 'reports') }}"
recovery_audit_log: "{{ lookup('vmrepl.core.evidence_path', 'audit') }}"
"""

RETURN = r"""
_raw:
  description: The path.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

ENV = {"reports": "VMREPL_REPORT_DIR", "audit": "VMREPL_AUDIT_LOG"}


def evidence_path(kind: str, environ: dict[str, str]) -> str:
    if kind not in ENV:
        raise AnsibleLookupError(f"evidence_path: {kind!r} is not one of {', '.join(ENV)}.")
    explicit = environ.get(ENV[kind])
    if explicit:
        return explicit
    state = environ.get("XDG_STATE_HOME") or os.path.join(
        environ.get("HOME") or os.path.expanduser("~"), ".local", "state"
    )
    if kind == "audit":
        return os.path.join(state, "vmrepl", "audit.jsonl")
    run_dir = environ.get("AWX_ISOLATED_DATA_DIR")  # set by ansible-runner: this run's artifacts
    if run_dir:
        return os.path.join(run_dir, "vmrepl-reports")
    return os.path.join(state, "vmrepl", "reports")


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [evidence_path(str(term), dict(os.environ)) for term in terms]
