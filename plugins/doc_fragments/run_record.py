# Copyright: vmrepl contributors
# Apache License 2.0
"""The options of the modules that record a run (recovery_report, audit_log): whether the
run was a dry run, and the job it was (``module_utils/audit.py`` has their argument spec)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  run_check_mode:
    description:
      - The run recorded was a check mode run (the playbooks pass C(ansible_check_mode)).
      - Named apart from the task's own check mode, which the playbooks turn off
        (C(check_mode=false)) so that a dry run is recorded too. C(check_mode) is its former
        name.
    type: bool
    default: false
    aliases: [check_mode]
  job_id:
    description: The AWX / Automation Platform job id; default - E(AWX_JOB_ID) or E(JOB_ID).
    type: str
"""
