"""The exporter with the field's real parts, on a deployed lab: our exporter reading both
sites' ZVMs, Debian's Prometheus scraping it every second with our rules, Debian's Alertmanager
routing to a local webhook receiver. A cut peer link fires the VPG alert, which reaches the
receiver once, and resolves when the link is back; an appliance VM powered off (pyVmomi
against vcsim) turns its site's vmrepl_zvm_up to 0 and fires VmreplZvmDown, and powered on
again resolves it."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyVmomi import vim

from tests.deploy.conftest import Lab, failure_messages, start_lab
from vmrepl.lab import manager
from vmrepl.lab.appliance import appliance_name

pytestmark = pytest.mark.lab

ROOT = Path(__file__).resolve().parents[2]
VPG = "100001-7-default"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, predicate: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


@dataclass
class Receiver:
    """A webhook receiver: the JSON bodies Alertmanager posted, in order."""

    server: ThreadingHTTPServer
    bodies: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def notifications(self, alertname: str, status: str) -> list[dict[str, Any]]:
        """The notifications of one alert name with that status (``firing``/``resolved``)."""
        return [
            body
            for body in list(self.bodies)
            if body.get("commonLabels", {}).get("alertname") == alertname
            and body.get("status") == status
        ]


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(server, received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("exporter-lab")
    started = start_lab(directory, deployed=True)
    try:
        result = started.run("deploy_remote.yml")
        assert result.status == "successful", failure_messages(result)
        yield started
    finally:
        manager.down(directory)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Stack:
    exporter_url: str
    exporter_log: Path
    prometheus_url: str
    processes: list[subprocess.Popen[Any]]

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=10) as response:
            return list(json.loads(response.read())["data"]["result"])

    def alerts(self, alertname: str) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.prometheus_url}/api/v1/alerts", timeout=10) as r:
            found = json.loads(r.read())["data"]["alerts"]
        return [a for a in found if a["labels"]["alertname"] == alertname]


def short_for(rules: str, seconds: int) -> str:
    """The shipped rules with every ``for:`` shortened (the expressions untouched)."""
    return re.sub(r"^(\s+for:) .*$", rf"\1 {seconds}s", rules, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def stack(
    lab: Lab, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    prometheus = shutil.which("prometheus")
    alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if prometheus is None or alertmanager is None:
        pytest.skip("Debian's prometheus and prometheus-alertmanager: run scripts/setup.sh")
    work = tmp_path_factory.mktemp("monitoring")
    processes: list[subprocess.Popen[Any]] = []
    try:
        # our exporter, the lab's inventory (the default), every log line kept
        exporter_log = work / "exporter.log"
        env = {**os.environ, "VMREPL_LAB_DIR": str(lab.directory)}
        processes.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "vmrepl.cli", "exporter"),
                    *("--listen", "127.0.0.1:0", "--log-level", "debug"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=exporter_log.open("w"),
                env=env,
                cwd=ROOT,
            )
        )
        line = wait_for(
            "the exporter to listen",
            lambda: re.search(r"serving (http://\S+)/metrics", exporter_log.read_text()),
        )
        exporter_url = line.group(1)

        am_port = free_port()
        (work / "alertmanager.yml").write_text(
            yaml.safe_dump(
                {
                    "route": {
                        "receiver": "hook",
                        "group_by": ["alertname", "site", "vpg"],
                        "group_wait": "1s",
                        "group_interval": "1s",
                        "repeat_interval": "1h",
                    },
                    "receivers": [
                        {
                            "name": "hook",
                            "webhook_configs": [{"url": receiver.url, "send_resolved": True}],
                        }
                    ],
                }
            )
        )
        processes.append(
            subprocess.Popen(
                [
                    alertmanager,
                    f"--config.file={work / 'alertmanager.yml'}",
                    f"--storage.path={work / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(work / "alertmanager.log").open("w"),
            )
        )
        rules = (ROOT / "monitoring" / "alerts.yml").read_text()
        (work / "alerts.yml").write_text(short_for(rules, 3))
        exporter_target = urllib.parse.urlsplit(exporter_url).netloc
        (work / "prometheus.yml").write_text(
            yaml.safe_dump(
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "rule_files": [str(work / "alerts.yml")],
                    "alerting": {
                        "alertmanagers": [
                            {"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}
                        ]
                    },
                    "scrape_configs": [
                        {
                            "job_name": "vmrepl",
                            "scrape_timeout": "1s",
                            "static_configs": [{"targets": [exporter_target]}],
                        }
                    ],
                }
            )
        )
        prom_port = free_port()
        processes.append(
            subprocess.Popen(
                [
                    prometheus,
                    f"--config.file={work / 'prometheus.yml'}",
                    f"--storage.tsdb.path={work / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                    "--rules.alert.resend-delay=1s",
                ],
                stdout=subprocess.DEVNULL,
                stderr=(work / "prometheus.log").open("w"),
            )
        )
        stack = Stack(exporter_url, exporter_log, f"http://127.0.0.1:{prom_port}", processes)

        def scraped() -> bool:
            try:
                return len(stack.query("vmrepl_zvm_up == 1")) == 2
            except OSError:
                return False

        wait_for("Prometheus to scrape both sites up", scraped)
        yield stack
    finally:
        for process in reversed(processes):
            stop(process)


def test_the_exporter_serves_both_sites(lab: Lab, stack: Stack) -> None:
    with urllib.request.urlopen(stack.exporter_url + "/metrics", timeout=20) as response:
        text = response.read().decode()
    for name in ("source", "target"):
        assert f'vmrepl_zvm_up{{site="{name}"}} 1.0' in text
        assert f'vmrepl_vpg_status{{site="{name}",status="MeetingSLA",vpg="{VPG}"}}' in text
    with urllib.request.urlopen(stack.exporter_url + "/probe?target=target", timeout=20) as r:
        probe = r.read().decode()
    assert 'vmrepl_zvm_up{site="target"} 1.0' in probe
    assert not re.search(r'[{,]site="source"', probe)
    # both VRAs of each site installed, each site paired with the other
    assert len(stack.query('vmrepl_vra_status{status="Installed"} == 1')) == 4
    assert len(stack.query('vmrepl_peer_pairing_status{status="Paired"} == 1')) == 2
    assert (
        stack.query(f'vmrepl_vpg_protected_vms{{site="source",vpg="{VPG}"}}')[0]["value"][1] == "2"
    )
    # the lab's licences run a year; the VMs' counters are read
    assert len(stack.query("vmrepl_license_expiry_timestamp_seconds - time() > 300 * 86400")) == 2
    assert stack.query(f'vmrepl_vpg_written_bytes_total{{site="source",vpg="{VPG}"}} > 0')


def test_a_cut_peer_link_fires_the_vpg_alert_once_and_resolves(
    lab: Lab, stack: Stack, receiver: Receiver
) -> None:
    alert = "VmreplVpgNotMeetingSla"
    assert not receiver.notifications(alert, "firing")
    lab.admin("source", "/lab/faults", {"peer_link": "cut"})
    try:
        wait_for(f"{alert} at the receiver", lambda: receiver.notifications(alert, "firing"))
        [firing] = receiver.notifications(alert, "firing")
        [one] = firing["alerts"]
        assert one["labels"]["vpg"] == VPG
        assert one["annotations"]["runbook"] == f"vmrepl diagnose --explain {alert}"
        # the alert stays on (Prometheus re-sends it every second): still one notification
        time.sleep(5)
        assert len(receiver.notifications(alert, "firing")) == 1
    finally:
        lab.admin("source", "/lab/faults", {"peer_link": "up"})
    wait_for(f"{alert} resolved", lambda: receiver.notifications(alert, "resolved"))
    time.sleep(3)
    assert len(receiver.notifications(alert, "firing")) == 1
    assert len(receiver.notifications(alert, "resolved")) == 1
    assert not stack.query('max by (vpg) (vmrepl_vpg_status{status="NotMeetingSLA"}) == 1')


def test_an_appliance_powered_off_is_a_zvm_down(lab: Lab, stack: Stack, receiver: Receiver) -> None:
    with lab.vcenter("source") as vc:
        [vm] = [
            o.ref
            for o in vc.retrieve(vim.VirtualMachine, ["name"])
            if o["name"] == appliance_name("source")
        ]
        vc.wait_for_tasks([vm.PowerOffVM_Task()])
    wait_for("vmrepl_zvm_up 0", lambda: stack.query('vmrepl_zvm_up{site="source"} == 0'))
    # the site's other series are gone, the other site is still read
    assert not stack.query('vmrepl_vpg_status{site="source"}')
    assert stack.query('vmrepl_zvm_up{site="target"} == 1')
    wait_for(
        "VmreplZvmDown at the receiver",
        lambda: receiver.notifications("VmreplZvmDown", "firing"),
    )
    [firing] = receiver.notifications("VmreplZvmDown", "firing")
    assert [a["labels"]["site"] for a in firing["alerts"]] == ["source"]
    # powered on again, the ZVM answers after its boot: up again, the alert resolved, once
    with lab.vcenter("source") as vc:
        [vm] = [
            o.ref
            for o in vc.retrieve(vim.VirtualMachine, ["name"])
            if o["name"] == appliance_name("source")
        ]
        vc.wait_for_tasks([vm.PowerOnVM_Task()])
    wait_for("vmrepl_zvm_up 1", lambda: stack.query('vmrepl_zvm_up{site="source"} == 1'))
    wait_for(
        "VmreplZvmDown resolved",
        lambda: receiver.notifications("VmreplZvmDown", "resolved"),
    )
    time.sleep(3)
    assert len(receiver.notifications("VmreplZvmDown", "firing")) == 1
    assert len(receiver.notifications("VmreplZvmDown", "resolved")) == 1
    assert stack.query('vmrepl_vpg_status{site="source"}')


def test_no_secret_in_the_exporter_log(lab: Lab, stack: Stack) -> None:
    text = stack.exporter_log.read_text()
    assert "DEBUG" in text  # it logged at every level
    for secret in lab.secrets():
        assert secret not in text
