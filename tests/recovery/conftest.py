"""Labs for the testing-and-recovery tests, built on the deploy tests' helpers: a deployed site
pair (or a deployed local site) per test module; runs with a report directory and an audit log
of their own; reading reports and audit lines back; rendering a report in headless Chromium."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager
from vmrepl.runner import RunResult

pytestmark = pytest.mark.lab

VPG = "100001-7-default"
LAB_VMS = ("DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1")
#: Quick enough for the lab (its ZVM tasks take 0.3 s), never asserted as wall times.
FAST = {"recovery_poll_interval": 0.2, "recovery_boot_timeout": 20, "recovery_sync_timeout": 60}


def run(
    lab: Lab, playbook: str, evidence: Path | None = None, check: bool = False, **extravars: Any
) -> RunResult:
    """Run a playbook of the lab; its reports and audit line go to ``evidence`` (default: the
    lab's ``reports/`` and ``audit.jsonl``)."""
    folder = evidence or lab.directory
    env = {
        "VMREPL_REPORT_DIR": str(folder / "reports"),
        "VMREPL_AUDIT_LOG": str(folder / "audit.jsonl"),
    }
    return lab.run(playbook, extravars={**FAST, **extravars}, envvars=env, check=check)


def audit_lines(folder: Path) -> list[dict[str, Any]]:
    path = folder / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def reports(folder: Path, operation: str | None = None) -> list[dict[str, Any]]:
    """The JSON reports in ``folder/reports``, oldest first."""
    found = []
    for path in sorted((folder / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime):
        report = json.loads(path.read_text())
        if operation is None or report.get("operation") == operation:
            report["_path"] = str(path)
            found.append(report)
    return found


def last_report(folder: Path, operation: str) -> dict[str, Any]:
    found = reports(folder, operation)
    assert found, f"no {operation} report in {folder}"
    return found[-1]


def module_tasks(result: RunResult) -> set[str]:
    """The actions of the tasks that ran (or failed) in a run."""
    wanted = ("runner_on_ok", "runner_on_failed", "runner_on_skipped")
    return {
        str(e["event_data"].get("task_action"))
        for e in result.events
        if e.get("event") in wanted and e["event_data"].get("task_action")
    }


def lab_request(lab: Lab, site: str, method: str, path: str) -> Any:
    zvm = lab.site(site)["zvm"]
    context = ssl.create_default_context(cafile=zvm["ca_file"])
    request = urllib.request.Request(zvm["url"] + path, method=method)
    with urllib.request.urlopen(request, context=context) as response:
        body = response.read()
        return json.loads(body) if body.strip() else None


def vpg(lab: Lab, site: str = "source") -> dict[str, Any]:
    with lab.zvm(site) as zvm:
        return next(v for v in zvm.vpgs() if json_field(v, "VpgName") == VPG)


def wait_meeting_sla(lab: Lab, site: str = "source", timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        current = vpg(lab, site)
        if json_field(current, "Status") == 1 or time.monotonic() > deadline:
            return current
        time.sleep(0.3)


def customer_vms(lab: Lab, site: str) -> list[tuple[str, str]]:
    """(name, power state) of the lab's customer VMs and their copies at a site, sorted."""
    return sorted(
        (vm["name"], vm["power"]) for vm in lab.vms(site) if vm["name"].startswith(LAB_VMS)
    )


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(html: Path) -> str:
    """The DOM headless Chromium renders from a report page (skips without Chromium)."""
    binary = chromium()
    if binary is None:
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    done = subprocess.run(
        [
            binary,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def deployed(directory: Path, edition: str) -> Iterator[Lab]:
    lab = start_lab(directory, edition=edition)
    try:
        result = lab.run(f"deploy_{edition}.yml")
        assert result.status == "successful", failure_messages(result)
        yield lab
    finally:
        manager.down(directory)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A deployed site pair: the default VPG protects the two lab VMs from source to target."""
    yield from deployed(tmp_path_factory.mktemp("pair"), "remote")


@pytest.fixture(scope="module")
def local_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A deployed local-edition site: the default VPG protects the lab VMs within the site."""
    yield from deployed(tmp_path_factory.mktemp("local"), "local")
