"""vmrepl.core.zvm_appliance for real: run through ``ansible`` against a vcsim whose TLS is
verified with the lab CA, checking the result in vcsim itself."""

from __future__ import annotations

import http.server
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
    vim,
)
from vmrepl.lab import process
from vmrepl.lab.certs import ensure_lab_certificates
from vmrepl.lab.vcsim import VcsimTopology, start_vcsim, vcsim_binary

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
APPLIANCE = REPO / "src" / "vmrepl" / "lab" / "assets" / "appliance"
OVF = APPLIANCE / "zvm-appliance.ovf"
DISK_SIZE = (APPLIANCE / "zvm-appliance-disk1.vmdk").stat().st_size
USER = "administrator@vsphere.local"


@dataclass
class Site:
    host: str
    port: int
    password: str
    ca_file: Path
    log: Path
    tmp: Path
    admin_password: str

    def client(self) -> VSphereClient:
        return VSphereClient.connect(
            VSphereConnectionParams(
                hostname=self.host,
                port=self.port,
                username=USER,
                password=self.password,
                ca_file=str(self.ca_file),
            )
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    try:
        vcsim_binary(build=False)
    except process.LabError as exc:
        pytest.skip(str(exc))
    tmp = tmp_path_factory.mktemp("zvm_appliance")
    certificate = ensure_lab_certificates(tmp / "certs")
    password = secrets.token_urlsafe(16)
    log = tmp / "vcsim.log"
    started = start_vcsim(VcsimTopology(vms=1), certificate, USER, password, log)
    try:
        url = urlsplit(started.ready["url"])
        assert url.hostname and url.port
        yield Site(
            url.hostname,
            url.port,
            password,
            certificate.ca_file,
            log,
            tmp,
            admin_password="Zvma-" + secrets.token_urlsafe(12),
        )
    finally:
        process.stop(started.pid)


def run_module(
    site: Site,
    args: dict[str, Any],
    *,
    check: bool = False,
    diff: bool = False,
    password: str | None = None,
) -> tuple[bool, dict[str, Any], str]:
    """Run the module once through ``ansible``; returns (ok, result, all output). The vCenter
    password travels in the environment and the admin password in a vars file, never on the
    command line."""
    secrets_file = site.tmp / "secrets.json"
    secrets_file.write_text(json.dumps({"zvma_admin_password": site.admin_password}))
    secrets_file.chmod(0o600)
    module_args = {
        "hostname": site.host,
        "port": site.port,
        "username": USER,
        "ca_file": str(site.ca_file),
        "datacenter": "DC0",
        **args,
    }
    argv = [
        str(REPO / ".venv" / "bin" / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={REPO / '.venv' / 'bin' / 'python'}",
        "-e",
        f"@{secrets_file}",
        "-m",
        "vmrepl.core.zvm_appliance",
        "-a",
        json.dumps(module_args),
    ]
    argv += ["--check"] if check else []
    argv += ["--diff"] if diff else []
    argv += ["-vvv"]  # keeps the diff in the printed result (and shows the module's arguments)
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "project" / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "minimal",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCAL_TEMP": str(site.tmp / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "VMWARE_PASSWORD": site.password if password is None else password,
    }
    done = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    match = re.search(r"^localhost \| ([A-Z!]+) => ", done.stdout, re.MULTILINE)
    assert match, output
    result, _ = json.JSONDecoder().raw_decode(done.stdout[match.end() :])
    return match.group(1) in ("SUCCESS", "CHANGED") and done.returncode == 0, result, output


def vms(site: Site) -> dict[str, dict[str, Any]]:
    """Every VM in vcsim with where it runs and how."""
    with site.client() as client:
        found = client.retrieve(
            vim.VirtualMachine,
            [
                "name",
                "parent",
                "runtime.host",
                "runtime.powerState",
                "datastore",
                "config.extraConfig",
                "config.hardware.device",
            ],
        )
        names = {o.moid: o["name"] for o in client.retrieve(vim.HostSystem, ["name"])}
        names |= {o.moid: o["name"] for o in client.retrieve(vim.Datastore, ["name"])}
        names |= {o.moid: o["name"] for o in client.retrieve(vim.Folder, ["name"])}
        return {
            vm["name"]: {
                "moid": vm.moid,
                "host": names[vm["runtime.host"]._moId],
                "folder": names[vm["parent"]._moId],
                "datastores": [names[d._moId] for d in vm["datastore"]],
                "power": str(vm["runtime.powerState"]),
                "extra": {o.key: o.value for o in vm["config.extraConfig"] or []},
                "disks": [
                    d.capacityInKB
                    for d in vm["config.hardware.device"]
                    if isinstance(d, vim.vm.device.VirtualDisk)
                ],
            }
            for vm in found
        }


def uploads(site: Site, name: str) -> list[str]:
    """vcsim's log lines of NFC uploads into the VM's folder."""
    return [
        line for line in site.log.read_text().splitlines() if "nfc " in line and f"/{name}/" in line
    ]


def test_deploy_lifecycle_on_a_host(site: Site) -> None:
    args = {
        "name": "zvma-site1",
        "ovf": str(OVF),
        "host": "DC0_C0_H1",
        "datastore": "LocalDS_1",
        "network": "VM Network",
        "properties": {
            "ip_address": "192.0.2.10",
            "netmask": "255.255.255.0",
            "gateway": "192.0.2.1",
            "hostname": "zvma-site1.lab",
        },
        "admin_password": "{{ zvma_admin_password }}",
        "wait_for_ip": False,
    }
    outputs = []

    # Check mode: says what it would do, with a diff, and creates nothing.
    ok, result, output = run_module(site, args, check=True, diff=True)
    outputs.append(output)
    assert ok, output
    assert result["changed"] is True
    assert result["actions"] == ["import", "power on"]
    assert result["msg"].startswith("Would deploy VM zvma-site1")
    assert result["diff"]["before"] == {"vm": {"name": "zvma-site1", "state": "absent"}}
    after = result["diff"]["after"]["vm"]
    assert after["host"] == "DC0_C0_H1" and after["datastore"] == "LocalDS_1"
    assert after["properties"]["ip_address"] == "192.0.2.10"
    assert after["properties"]["admin_password"] == "********"
    assert "zvma-site1" not in vms(site)
    assert uploads(site, "zvma-site1") == []

    # For real: imported with the disk uploaded, on the chosen host and datastore, powered on.
    ok, result, output = run_module(site, args, diff=True)
    outputs.append(output)
    assert ok, output
    assert result["changed"] is True
    assert result["msg"] == "Deployed VM zvma-site1 from zvm-appliance.ovf."
    assert result["vm"]["host"] == "DC0_C0_H1"
    assert result["vm"]["power_state"] == "poweredOn"
    vm = vms(site)["zvma-site1"]
    assert vm["host"] == "DC0_C0_H1"
    assert vm["datastores"] == ["LocalDS_1"]
    assert vm["power"] == "poweredOn"
    assert vm["disks"] == [256 * 1024]
    # vcsim turns OVF properties into extraConfig: the settings reached the VM.
    assert vm["extra"]["ip_address"] == "192.0.2.10"
    assert vm["extra"]["admin_password"] == site.admin_password
    [line] = uploads(site, "zvma-site1")
    assert line.endswith(f"disk-0.vmdk: transferred {DISK_SIZE} bytes")

    # Again: nothing imported, nothing changed.
    ok, result, output = run_module(site, args, diff=True)
    outputs.append(output)
    assert ok, output
    assert result["changed"] is False
    assert result["actions"] == []
    assert result["diff"] == {"before": {}, "after": {}}
    assert len(uploads(site, "zvma-site1")) == 1

    # Found powered off: powered on (and only that), in check mode first.
    with site.client() as client:
        client.wait_for_tasks(client.power_off([client.get(vim.VirtualMachine, vm["moid"])]))
    ok, result, output = run_module(site, args, check=True)
    outputs.append(output)
    assert ok and result["changed"] is True and result["actions"] == ["power on"], output
    assert vms(site)["zvma-site1"]["power"] == "poweredOff"
    ok, result, output = run_module(site, args, diff=True)
    outputs.append(output)
    assert ok and result["changed"] is True and result["actions"] == ["power on"], output
    assert result["diff"]["before"]["vm"]["power_state"] == "poweredOff"
    assert result["diff"]["after"]["vm"]["power_state"] == "poweredOn"
    assert vms(site)["zvma-site1"]["power"] == "poweredOn"
    assert len(uploads(site, "zvma-site1")) == 1

    # Absent: check mode keeps it, then it is removed, then there is nothing to do.
    absent = {"name": "zvma-site1", "state": "absent"}
    ok, result, output = run_module(site, absent, check=True, diff=True)
    outputs.append(output)
    assert ok and result["changed"] is True, output
    assert result["diff"]["after"] == {"vm": {"name": "zvma-site1", "state": "absent"}}
    assert "zvma-site1" in vms(site)
    ok, result, output = run_module(site, absent)
    outputs.append(output)
    assert ok and result["changed"] is True and result["msg"] == "Removed VM zvma-site1.", output
    assert "zvma-site1" not in vms(site)
    ok, result, output = run_module(site, absent)
    outputs.append(output)
    assert ok and result["changed"] is False, output

    for output in outputs:
        assert site.admin_password not in output
        assert site.password not in output


class _ZvmApi(http.server.BaseHTTPRequestHandler):
    """Answers like a ZVM that wants a login: 401 on /v1/localsite."""

    def do_GET(self) -> None:
        self.send_response(401 if self.path == "/v1/localsite" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def zvm_api(site: Site) -> Iterator[str]:
    certs = site.ca_file.parent
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs / "server.pem", certs / "server.key")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ZvmApi)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_ova_on_a_cluster_waits_for_the_address_and_the_api(
    site: Site, zvm_api: str, tmp_path: Path
) -> None:
    build = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            str(APPLIANCE / "build.py"),
            "--out",
            str(tmp_path / "pkg"),
            "--ova",
            str(tmp_path / "zvma.ova"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert build.returncode == 0, build.stderr
    with site.client() as client:
        datacenter = client.find_by_name(vim.Datacenter, "DC0").ref
        names = {f["name"] for f in client.retrieve(vim.Folder, ["name"], datacenter.vmFolder)}
        if "Infrastructure" not in names:
            datacenter.vmFolder.CreateFolder("Infrastructure").CreateFolder("Zerto")
    args = {
        "name": "zvma-ova",
        "ova": str(tmp_path / "zvma.ova"),
        "cluster": "DC0_C0",
        "datastore": "LocalDS_0",
        "network": "DC0_DVPG0",
        "folder": "Infrastructure/Zerto",
        "properties": {"ip_address": "192.0.2.20"},
        "admin_password": "{{ zvma_admin_password }}",
        "wait_for_ip": True,
        "wait_timeout": 2,
    }
    # vcsim never reports a guest address: the wait fails and says so; the VM stays deployed.
    ok, result, output = run_module(site, args)
    assert not ok, output
    assert "reported no IP address within 2 s" in result["msg"]
    assert "wait_for_ip: false" in result["msg"]
    assert result["error"] == "TaskTimeout"
    vm = vms(site)["zvma-ova"]
    assert vm["power"] == "poweredOn" and vm["datastores"] == ["LocalDS_0"]
    assert vm["folder"] == "Zerto"
    assert vm["host"].startswith("DC0_C0_H")
    assert len(uploads(site, "zvma-ova")) == 1

    # Let vcsim report an address, as VMware Tools would; the next run waits for it and for the
    # API (which answers 401 over TLS verified with the lab CA), and changes nothing.
    with site.client() as client:
        spec = vim.vm.ConfigSpec(
            extraConfig=[vim.option.OptionValue(key="SET.guest.ipAddress", value="192.0.2.20")]
        )
        ref = client.get(vim.VirtualMachine, vm["moid"])
        client.wait_for_task(ref.ReconfigVM_Task(spec=spec))
    ok, result, output = run_module(
        site, {**args, "api_url": zvm_api, "api_ca_file": str(site.ca_file), "wait_timeout": 30}
    )
    assert ok, output
    assert result["changed"] is False
    assert result["vm"]["ip_address"] == "192.0.2.20"
    assert result["api_ready"] is True
    assert site.admin_password not in output

    ok, result, output = run_module(site, {"name": "zvma-ova", "state": "absent"})
    assert ok and result["changed"] is True, output


def test_a_package_that_fails_its_manifest_leaves_nothing_behind(
    site: Site, tmp_path: Path
) -> None:
    for name in ("zvm-appliance.ovf", "zvm-appliance.mf", "zvm-appliance-disk1.vmdk"):
        shutil.copy(APPLIANCE / name, tmp_path / name)
    disk = tmp_path / "zvm-appliance-disk1.vmdk"
    data = bytearray(disk.read_bytes())
    data[70000] ^= 0x01
    disk.write_bytes(bytes(data))
    args = {
        "name": "zvma-corrupt",
        "ovf": str(tmp_path / "zvm-appliance.ovf"),
        "host": "DC0_C0_H0",
        "datastore": "LocalDS_0",
        "network": "VM Network",
        "wait_for_ip": False,
    }
    ok, result, output = run_module(site, args)
    assert not ok, output
    assert "does not match its manifest" in result["msg"]
    assert len(uploads(site, "zvma-corrupt")) == 1  # uploaded, then the lease was aborted
    assert "zvma-corrupt" not in vms(site)


def test_wrong_vcenter_password_fails_clearly_and_creates_nothing(site: Site) -> None:
    wrong = "not-" + site.password
    args = {
        "name": "zvma-denied",
        "ovf": str(OVF),
        "host": "DC0_C0_H0",
        "datastore": "LocalDS_0",
        "network": "VM Network",
        "admin_password": "{{ zvma_admin_password }}",
        "wait_for_ip": False,
    }
    ok, result, output = run_module(site, args, password=wrong)
    assert not ok, output
    assert result["error"] == "AuthenticationFailed"
    assert "refused the login of user" in result["msg"]
    assert "Check the vCenter username and password" in result["msg"]
    assert wrong not in output and site.admin_password not in output
    assert "zvma-denied" not in vms(site)


def test_unknown_property_is_refused_before_anything_changes(site: Site) -> None:
    args = {
        "name": "zvma-typo",
        "ovf": str(OVF),
        "host": "DC0_C0_H0",
        "datastore": "LocalDS_0",
        "network": "VM Network",
        "properties": {"ipaddress": "192.0.2.30"},
        "wait_for_ip": False,
    }
    ok, result, output = run_module(site, args, check=True)
    assert not ok, output
    assert "The OVF declares no property ipaddress" in result["msg"]
    assert "ip_address" in result["msg"]
    assert "zvma-typo" not in vms(site)
