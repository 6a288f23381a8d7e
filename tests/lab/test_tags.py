"""Hosts and VMs chosen by vSphere tag, for real: a vcsim (with its vAPI /rest endpoints) whose
TLS is verified with the lab CA, tags created and attached through the tagging client, and
vmrepl.core.hypervisor_info / vm_info run through ``ansible``."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import ConnectionFailed
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
    vim,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere_tags import TagClient
from vmrepl.lab import process
from vmrepl.lab.certs import ensure_lab_certificates
from vmrepl.lab.vcsim import VcsimTopology, start_vcsim, vcsim_binary

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parents[2]
USER = "administrator@vsphere.local"
CATEGORY = "vmrepl-customer"
TAG = "cust-123456"


@dataclass
class Site:
    host: str
    port: int
    password: str
    ca_file: Path
    tmp: Path
    #: moref id → name of every host and VM
    names: dict[str, str]
    tagged_host: str
    tagged_vm: str

    def params(self, ca_file: str | None = None) -> VSphereConnectionParams:
        return VSphereConnectionParams(
            hostname=self.host,
            port=self.port,
            username=USER,
            password=self.password,
            ca_file=ca_file or str(self.ca_file),
        )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    try:
        vcsim_binary(build=False)
    except process.LabError as exc:
        pytest.skip(str(exc))
    tmp = tmp_path_factory.mktemp("tags")
    certificate = ensure_lab_certificates(tmp / "certs")
    password = secrets.token_urlsafe(16)
    started = start_vcsim(
        VcsimTopology(hosts=3, vms=8), certificate, USER, password, tmp / "vcsim.log"
    )
    try:
        url = urlsplit(started.ready["url"])
        assert url.hostname and url.port
        params = VSphereConnectionParams(
            hostname=url.hostname,
            port=url.port,
            username=USER,
            password=password,
            ca_file=str(certificate.ca_file),
        )
        with VSphereClient.connect(params) as vc:
            hosts = vc.retrieve(vim.HostSystem, ["name"])
            vms = vc.retrieve(vim.VirtualMachine, ["name"])
        names = {o.moid: o["name"] for o in hosts + vms}
        # The second host and the last VM, so that "the first one" cannot pass by accident.
        host, vm = (
            sorted(hosts, key=lambda h: h["name"])[1],
            sorted(vms, key=lambda v: v["name"])[-1],
        )
        with TagClient.connect(params) as tags:
            category = tags.ensure_category(CATEGORY, ["HostSystem", "VirtualMachine"])
            tags.ensure_category("unrelated", [])
            tag = tags.ensure_tag(category, TAG)
            tags.ensure_tag(category, "cust-999999")
            tags.attach(tag, host.moid, "HostSystem")
            tags.attach(tag, vm.moid, "VirtualMachine")
        yield Site(
            url.hostname,
            url.port,
            password,
            certificate.ca_file,
            tmp,
            names,
            host["name"],
            vm["name"],
        )
    finally:
        process.stop(started.pid)


def run_module(site: Site, module: str, args: dict[str, Any]) -> tuple[bool, dict[str, Any], str]:
    """Run the module once through ``ansible``; returns (ok, result, all output). The vCenter
    password travels in the environment, never on the command line."""
    module_args = {"hostname": site.host, "port": site.port, "username": USER, **args}
    argv = [
        str(REPO / ".venv" / "bin" / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={REPO / '.venv' / 'bin' / 'python'}",
        "-m",
        module,
        "-a",
        json.dumps(module_args),
    ]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "project" / "ansible.cfg"),
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "minimal",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
        "ANSIBLE_LOCAL_TEMP": str(site.tmp / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "VMWARE_PASSWORD": site.password,
        "VMWARE_CA_FILE": str(site.ca_file),
    }
    done = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False
    )
    output = done.stdout + done.stderr
    match = re.search(r"^localhost \| ([A-Z!]+) => ", done.stdout, re.MULTILINE)
    assert match, output
    result, _ = json.JSONDecoder().raw_decode(done.stdout[match.end() :])
    return match.group(1) in ("SUCCESS", "CHANGED") and done.returncode == 0, result, output


def test_hypervisor_info_chooses_only_the_tagged_host(site: Site) -> None:
    ok, result, output = run_module(
        site, "vmrepl.core.hypervisor_info", {"tag": {"category": CATEGORY, "name": TAG}}
    )
    assert ok, output
    assert result["chosen"] == [site.tagged_host]
    assert result["skipped_hosts"] == {}
    # The tagged VM is not a host, and the other hosts are still discovered, only not chosen.
    assert len(result["hosts"]) == 3
    assert site.password not in output

    # Without a tag every host is chosen: the tag made the difference.
    ok, untagged, output = run_module(site, "vmrepl.core.hypervisor_info", {})
    assert ok, output
    assert len(untagged["chosen"]) == 3
    # The tag's REST calls are counted: login, lookup, one association call, logout.
    assert untagged["calls"] < result["calls"] <= untagged["calls"] + 10


def test_tag_combines_with_the_other_host_selections(site: Site) -> None:
    others = [n for n in site.names.values() if n.startswith("DC0_C0_H") and n != site.tagged_host]
    tag = {"category": CATEGORY, "name": TAG}
    ok, result, output = run_module(
        site, "vmrepl.core.hypervisor_info", {"tag": tag, "names": others}
    )
    assert ok, output
    assert result["chosen"] == []
    ok, result, output = run_module(
        site, "vmrepl.core.hypervisor_info", {"tag": tag, "clusters": ["DC0_C0"]}
    )
    assert ok, output
    assert result["chosen"] == [site.tagged_host]


def test_vm_info_chooses_only_the_tagged_vm_in_one_association_call(site: Site) -> None:
    tag = {"category": CATEGORY, "name": TAG}
    ok, result, output = run_module(site, "vmrepl.core.vm_info", {"tag": tag})
    assert ok, output
    assert [vm["name"] for vm in result["vms"]] == [site.tagged_vm]
    calls = result["calls"]

    # Tag every VM: the same number of calls, however many objects carry the tag. (The lookup
    # reads categories and tags until the one named, in the order vcsim lists them, which
    # varies: up to one more category and one more tag read, 2 calls, far fewer than the
    # objects added.)
    vms = [moid for moid in site.names if moid.startswith("vm-")]
    assert len(vms) >= 8
    with TagClient.connect(site.params()) as tags:
        found = tags.find_tag(CATEGORY, TAG)
        for moid in vms:
            tags.attach(found, moid, "VirtualMachine")
    try:
        ok, result, output = run_module(site, "vmrepl.core.vm_info", {"tag": tag})
        assert ok, output
        assert sorted(vm["name"] for vm in result["vms"]) == sorted(site.names[m] for m in vms)
        assert abs(result["calls"] - calls) <= 2
    finally:
        with TagClient.connect(site.params()) as tags:
            found = tags.find_tag(CATEGORY, TAG)
            for moid in vms:
                if site.names[moid] != site.tagged_vm:  # the other tests expect one
                    tags.detach(found, moid, "VirtualMachine")


@pytest.mark.parametrize(
    ("tag", "named", "known"),
    [
        (
            {"category": CATEGORY, "name": "cust-000000"},
            "vmrepl-customer/cust-000000",
            "cust-123456",
        ),
        ({"category": "customers", "name": TAG}, "customers/cust-123456", "vmrepl-customer"),
    ],
)
def test_an_unknown_tag_fails_naming_it(
    site: Site, tag: dict[str, str], named: str, known: str
) -> None:
    ok, result, output = run_module(site, "vmrepl.core.hypervisor_info", {"tag": tag})
    assert not ok, output
    assert result["error"] == "NotFound"
    assert named in result["msg"]
    assert known in result["msg"]
    assert "chosen" not in result


def test_the_tagging_client_verifies_the_certificate(site: Site, tmp_path: Path) -> None:
    other_ca = ensure_lab_certificates(tmp_path / "other").ca_file
    with pytest.raises(ConnectionFailed, match="could not be verified"):
        TagClient.connect(site.params(ca_file=str(other_ca)))
