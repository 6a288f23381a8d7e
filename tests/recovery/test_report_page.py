"""The HTML report in a real headless browser (Debian's Chromium): rendered from a file, with no
network and no scripts, it shows the VPG, the RPO and RTO, the VMs' validation and the customer's
hand-off checklist."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from ansible_collections.vmrepl.core.plugins.module_utils.recovery import report as reports
from ansible_collections.vmrepl.core.plugins.module_utils.recovery.rules import check_vm
from tests.recovery.conftest import dump_dom


def failed_test_report() -> dict:
    def vm(name: str, power: str) -> dict:
        facts = {
            "name": f"{name} - testing recovery",
            "moid": "vm-1",
            "power_state": power,
            "host": "esx-dr-01",
            "tools_status": "toolsOk",
            "tools_running": "guestToolsRunning" if power == "poweredOn" else None,
            "ip": "192.168.77.10" if power == "poweredOn" else None,
            "networks": ["vmrepl-bubble"],
        }
        return {**check_vm(facts["name"], facts, ["vmrepl-bubble"]), "source": name}

    row = {
        "vpg": "123456-7-erp",
        "site": "dr",
        "status": "failed",
        "message": "VPG 123456-7-erp: the failover test failed (test stopped)",
        "protected_site": "prod",
        "recovery_site": "dr",
        "checkpoint": {
            "identifier": "1715677230000",
            "time": "2024-05-14T09:00:30.000Z",
            "tag": None,
            "chosen_by": "latest",
        },
        "rpo_seconds": 7,
        "rto_seconds": None,
        "commit": "test stopped",
        "test_network": "vmrepl-bubble",
        "vms": [vm("erp-app", "poweredOn"), vm("erp-db", "poweredOff")],
        "steps": [],
        "notes": [],
        "errors": ["validation failed: erp-db - testing recovery: not powered on (poweredOff)"],
    }
    ok = {**row, "vpg": "123456-7-web", "status": "succeeded", "rto_seconds": 41.5, "errors": []}
    ok["vms"] = [vm("web", "poweredOn")]
    ok["message"] = "VPG 123456-7-web: failover test passed"
    return reports.build(
        run_id="f00d",
        operation="failover_test",
        edition="remote",
        request_ref="RITM0042 <urgent>",
        vpgs=["123456-7-erp", "123456-7-web"],
        results=[row, ok],
        started="2024-05-14T09:00:29Z",
        ended="2024-05-14T09:05:00.000Z",
        user="alice",
        job_id="4711",
    )


def text_of(dom: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", dom)).split())


def test_the_report_page_renders_what_the_customer_needs(tmp_path: Path) -> None:
    paths = reports.write(failed_test_report(), tmp_path)
    dom = dump_dom(Path(paths["html"]))
    assert "<style>" in dom and "<script" not in dom
    text = text_of(dom)
    assert "vmrepl failover test report" in text
    assert "Request reference RITM0042 <urgent>" in text  # escaped in the file, text here
    assert "Run by alice (AWX job 4711)" in text
    assert "VPG 123456-7-erp failed" in text and "VPG 123456-7-web succeeded" in text
    assert "RPO at start 7 s" in text
    assert "RTO (until the VMs were up) not measured" in text  # the erp test never got there
    assert "RTO (until the VMs were up) 41.5 s" in text
    assert "erp-db - testing recovery" in text and "not powered on (poweredOff)" in text
    assert "192.168.77.10" in text
    assert "Hand-off checklist (customer)" in text
    assert "Review the test of erp-app, erp-db" in text
    assert "the test VMs were removed when the test stopped" in text
    # the failed VM's row shows the failure badge, the other's the passed one
    rows = re.findall(r"<tr>(.*?)</tr>", dom, re.S)
    db_row = next(r for r in rows if "erp-db - testing recovery" in r)
    assert 'class="badge failed"' in db_row
    app_row = next(r for r in rows if "erp-app - testing recovery" in r)
    assert 'class="badge passed"' in app_row
