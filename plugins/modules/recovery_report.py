#!/usr/bin/python
# Copyright: vmrepl contributors
# Apache License 2.0
from __future__ import annotations

DOCUMENTATION = r"""
module: recovery_report
short_description: The report of a testing or recovery run - JSON, JUnit XML and HTML
description:
  - Joins the per-VPG results that each site of the run returned (M(vmrepl.core.vpg_recovery))
    and writes the run's report into O(directory) three times - C(<stem>.json), C(<stem>.xml)
    (JUnit, for pipelines) and C(<stem>.html) (one self-contained page) - with
    C(<stem>) = C(<operation>-<start time>-<run id>).
  - Per VPG and VM - the checkpoint used, the RPO at start, the RTO, the validation results,
    errors, the request reference and the customer's hand-off checklist.
  - Runs on the controller. Refused and failed runs get a report too.
version_added: 0.1.0
author:
  - vmrepl maintainers
extends_documentation_fragment:
  - vmrepl.core.run_record
options:
  directory:
    description: Where the reports go (the playbooks use E(VMREPL_REPORT_DIR), else C(reports/)).
    type: path
    required: true
  operation:
    description: The operation.
    type: str
    required: true
  edition:
    description: The service edition of the inventory.
    type: str
  request_ref:
    description: The customer's request reference.
    type: str
    default: ""
  vpgs:
    description: The VPGs the run was asked for.
    type: list
    elements: str
    default: []
  results:
    description:
      - What each site answered - a list with, per site, the list of its per-VPG results
        (C(vpgs) of M(vmrepl.core.vpg_recovery)); a VPG's result from the site that acted on
        it wins.
    type: list
    elements: raw
    default: []
  failures:
    description: Site → message, for sites whose part of the run failed as a whole.
    type: dict
    default: {}
  refused:
    description: Why the run was refused before anything happened (empty - it was not).
    type: str
  started:
    description: When the run started (ISO 8601).
    type: str
notes:
  - Supports check mode (writes nothing; the playbooks run it with C(check_mode=false) so that a
    dry run is reported too).
"""

EXAMPLES = r"""
- name: Write the run's report
  vmrepl.core.recovery_report:
    directory: /var/lib/vmrepl/reports
    operation: failover_test
    edition: remote
    request_ref: CHG0012345
    vpgs: [123456-7-default]
    results: "{{ ansible_play_hosts_all | map('extract', hostvars, 'site_result')
      | map(attribute='vpgs', default=[]) | list }}"
"""

RETURN = r"""
report:
  description: The report (as in the JSON file).
  returned: always
  type: dict
paths:
  description: The files written - json, junit, html.
  returned: always
  type: dict
result:
  description: succeeded, failed, refused or checked (check mode).
  returned: always
  type: str
reason:
  description: Why, in one line.
  returned: always
  type: str
audit_result:
  description: The result as the audit log writes it.
  returned: always
  type: str
checkpoints:
  description: VPG name → the checkpoint used (identifier and time, or tag).
  returned: always
  type: dict
run_id:
  description: The run's id.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.vmrepl.core.plugins.module_utils._module import run
from ansible_collections.vmrepl.core.plugins.module_utils.audit import RUN_ARGUMENT_SPEC
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.report import record


def main():
    module = AnsibleModule(
        argument_spec={
            "directory": {"type": "path", "required": True},
            "operation": {"type": "str", "required": True},
            "edition": {"type": "str"},
            "request_ref": {"type": "str", "default": ""},
            "vpgs": {"type": "list", "elements": "str", "default": []},
            "results": {"type": "list", "elements": "raw", "default": []},
            "failures": {"type": "dict", "default": {}},
            "refused": {"type": "str"},
            "started": {"type": "str"},
            **RUN_ARGUMENT_SPEC,
        },
        supports_check_mode=True,
    )
    run(module, lambda: record(module.params, module.check_mode))


if __name__ == "__main__":
    main()
