#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: audit_log
short_description: Append one line to the audit log of customer-initiated operations
description:
  - Appends one JSON line to O(path) - when, who ran it (the OS user and the AWX job id), the
    operation, the VPGs, the customer's request reference, the checkpoint(s), the result and
    the report - under an exclusive lock, creating the file (mode 0640) and its folder.
  - Runs on the controller. Refused and failed runs are logged too; the playbooks log every
    run, with O(run_check_mode) telling a dry run apart.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.run_record
options:
  path:
    description: The audit log (JSON lines). The playbooks use E(VMREPL_AUDIT_LOG), else
      C(reports/audit.jsonl) of the repository.
    type: path
    required: true
  operation:
    description:
      - The operation - failover_test, local_recovery, failover, move, failback or
        vpg_customisation.
    type: str
    required: true
  edition:
    description: The service edition of the inventory.
    type: str
  vpgs:
    description: The VPGs of the run.
    type: list
    elements: str
    default: []
  request_ref:
    description: The customer's request reference (empty when the run was refused for lack of it).
    type: str
    default: ""
  result:
    description: C(succeeded), C(failed - <reason>), C(refused - <reason>), ...
    type: str
    required: true
  checkpoints:
    description: VPG name → the checkpoint the run used.
    type: dict
    default: {}
  report:
    description: The run's report (its JSON file).
    type: str
  run_id:
    description: The run's id (also in the report's name).
    type: str
notes:
  - Supports check mode (writes nothing; the playbooks run it with C(check_mode=false) so that a
    dry run is logged too) and diff mode (C(entry), the line appended).
"""

EXAMPLES = r"""
- name: Log the run
  vmrepl.core.audit_log:
    path: /var/log/vmrepl/audit.jsonl
    operation: failover_test
    vpgs: [123456-7-default]
    request_ref: CHG0012345
    result: succeeded
"""

RETURN = r"""
entry:
  description: The line appended.
  returned: always
  type: dict
path:
  description: The audit log.
  returned: always
  type: str
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils import audit
from ansible_collections.vmrepl.core.plugins.module_utils._module import ensure, run


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "operation": {"type": "str", "required": True},
            "edition": {"type": "str"},
            "vpgs": {"type": "list", "elements": "str", "default": []},
            "request_ref": {"type": "str", "default": ""},
            "result": {"type": "str", "required": True},
            "checkpoints": {"type": "dict", "default": {}},
            "report": {"type": "str"},
            "run_id": {"type": "str"},
            **audit.RUN_ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    p = module.params

    def body() -> dict[str, Any]:
        entry = audit.record(
            operation=p["operation"],
            edition=p["edition"],
            vpgs=p["vpgs"],
            request_ref=p["request_ref"],
            result=p["result"],
            checkpoints=p["checkpoints"],
            report=p["report"],
            run_id=p["run_id"],
            check_mode=p["run_check_mode"],
            who=audit.actor(p["job_id"]),
        )
        line = audit.AuditLine(p["path"], entry)
        return ensure(module, line, line.apply)

    run(module, body)


if __name__ == "__main__":
    main()
