"""Discovery of a large site: SOAP calls and seconds, ours against community.vmware's.

    python -m benchmarks.discovery [--hosts 64] [--vms 2000] [--compare]

Starts a vcsim with ``--hosts`` hypervisors (two clusters) and ``--vms`` VMs, counting SOAP
calls by method (vcsim's ``-count-calls``), and reads the same picture of it - every host's
name, connection state, maintenance mode, version, datastores and networks; every VM's name,
folder, power state and disks:

- vmrepl, in-process: ``discover()`` + ``discover_vms()`` (what hypervisor_info and vm_info read);
- vmrepl, as a playbook: ``vmrepl.core.hypervisor_info`` + ``vmrepl.core.vm_info`` through
  ansible-runner (module start-up included, like the other side);
- with ``--compare``: a playbook of community.vmware 5.10 / vmware.vmware 2.6 modules from the
  ``ansible`` 12.3 package, in a separate venv ``.cache/bench-ansible12`` (made on first use):
  ``vmware.vmware.cluster_info``; ``vmware_host_facts`` per host; ``vmware_datastore_info``
  and ``vmware_portgroup_info`` per cluster; ``vmware_vm_info``; ``vmware_guest_disk_info`` per
  VM. Where a module cannot run on vcsim the closest one that can stands in (see the playbook's
  comments and benchmarks/README.md); the output says how many objects both sides read alike.

Prints the calls and seconds of each, the ratios (theirs / our playbook), and a JSON line for
pipelines. Run it by hand or in a non-gating CI step; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
)
from ansible_collections.vmrepl.core.plugins.module_utils.discovery import discover, discover_vms
from vmrepl.lab import process
from vmrepl.lab.certs import ensure_lab_certificates
from vmrepl.lab.vcsim import vcsim_binary
from vmrepl.paths import CHECKOUT as REPO_ROOT

ANSIBLE12 = REPO_ROOT / ".cache" / "bench-ansible12"
USER, PASSWORD = "bench", "bench-password"


def start(hosts: int, vms: int, workdir: Path) -> tuple[process.Started, str, int]:
    certs = ensure_lab_certificates(workdir / "certs")
    clusters = 2
    argv = [
        vcsim_binary(),
        "-l",
        "127.0.0.1:0",
        "-count-calls",
        "-cluster",
        str(clusters),
        "-host",
        str(hosts // clusters),
        "-vm",
        str(vms // clusters),
        "-ds",
        "4",
        "-pg",
        "2",
        "-autostart=false",
        "-username",
        USER,
        "-tlscert",
        str(certs.cert_file),
        "-tlskey",
        str(certs.key_file),
    ]
    started = process.start(
        argv, workdir / "vcsim.log", env={"VCSIM_PASSWORD": PASSWORD}, timeout=300
    )
    netloc = str(started.ready["url"]).split("//", 1)[1].split("/", 1)[0]
    host, port = netloc.rsplit(":", 1)
    return started, host, int(port)


def calls(host: str, port: int, ca_file: Path, reset: bool = False) -> dict[str, int]:
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(
        f"https://{host}:{port}/vmrepl/calls", method="DELETE" if reset else "GET"
    )
    with urllib.request.urlopen(request, context=context) as response:
        return dict(json.load(response))


def settled_calls(host: str, port: int, ca_file: Path) -> dict[str, int]:
    """The counts once they stop moving: vcsim counts from its trace, read through a pipe."""
    counted = calls(host, port, ca_file)
    while True:
        time.sleep(0.3)
        again = calls(host, port, ca_file)
        if again == counted:
            return counted
        counted = again


def measure_ours(host: str, port: int, ca_file: Path) -> dict[str, Any]:
    settled_calls(host, port, ca_file)
    calls(host, port, ca_file, reset=True)
    started = time.perf_counter()
    params = VSphereConnectionParams(host, USER, PASSWORD, port=port, ca_file=str(ca_file))
    with VSphereClient.connect(params) as client:
        site = discover(client)
        vms = discover_vms(client)
    seconds = time.perf_counter() - started
    counted = settled_calls(host, port, ca_file)
    return {
        "site": site,
        "vms_found": vms,
        "hosts": len(site.hosts),
        "vms": len(vms),
        "calls": sum(counted.values()),
        "by_method": counted,
        "seconds": round(seconds, 2),
    }


def ensure_ansible12() -> Path:
    python = ANSIBLE12 / "bin" / "python"
    if not (ANSIBLE12 / "bin" / "ansible").exists():
        print(f"Installing ansible 12.3 into {ANSIBLE12} (once)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(ANSIBLE12)], check=True)
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                "ansible==12.3.0",
                "pyvmomi>=9.1,<10",
                "requests",
            ],
            check=True,
        )
    return ANSIBLE12 / "bin"


COMMUNITY_PLAYBOOK = """
- name: The same picture, read with community.vmware 5.10 and vmware.vmware 2.6 modules
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.vmware.vmware:
      validate_certs: true
  tasks:
    - name: Clusters and their hosts
      vmware.vmware.cluster_info:
        datacenter: "{{ bench_datacenter }}"
      register: bench_clusters

    # vmware_host_facts' default (summary) schema would also give the datastores, but it asks
    # the host's vSAN system, which vcsim lacks; with schema vsphere, the list properties
    # datastore and network make pyVmomi's JSON encoder read every property of the first
    # datastore / network, and vcsim 0.24 drops the connection on a Fetch of an unset one.
    - name: State and version of every host
      community.vmware.vmware_host_facts:
        esxi_hostname: "{{ item }}"
        schema: vsphere
        properties: [name, runtime.connectionState, runtime.inMaintenanceMode,
                     config.product.version]
      loop: "{{ bench_clusters.clusters.values() | map(attribute='hosts') | flatten
                | map(attribute='name') | list }}"
      register: bench_hosts

    - name: Datastores of every cluster
      community.vmware.vmware_datastore_info:
        datacenter: "{{ bench_datacenter }}"
        cluster: "{{ item }}"
      loop: "{{ bench_clusters.clusters.keys() | list }}"
      register: bench_datastores

    # vmware_dvs_portgroup_info and vmware_dvswitch_info fail on vcsim (unset policies), so
    # the distributed port groups are left out of their picture.
    - name: Port groups of every host, by cluster
      community.vmware.vmware_portgroup_info:
        cluster_name: "{{ item }}"
      loop: "{{ bench_clusters.clusters.keys() | list }}"
      register: bench_portgroups

    - name: Every VM, with only what the picture needs
      community.vmware.vmware_vm_info:
        vm_type: vm
        show_attribute: false
        show_folder: true
        show_cluster: false
        show_datacenter: false
        show_datastore: false
        show_esxi_hostname: false
        show_mac_address: false
        show_net: false
        show_resource_pool: false
      register: bench_vms

    - name: Disks of every VM (vmware_vm_info has none)
      community.vmware.vmware_guest_disk_info:
        datacenter: "{{ bench_datacenter }}"
        moid: "{{ item.moid }}"
      loop: "{{ bench_vms.virtual_machines }}"
      loop_control:
        label: "{{ item.guest_name }}"
      register: bench_disks

    - name: Hand the registered results to the benchmark
      ansible.builtin.copy:
        dest: "{{ bench_output }}"
        content: "{{ {'clusters': bench_clusters.clusters,
                      'hosts': bench_hosts.results | map(attribute='ansible_facts') | list,
                      'datastores': bench_datastores.results,
                      'portgroups': bench_portgroups.results,
                      'vms': bench_vms.virtual_machines,
                      'disks': bench_disks.results} | to_json }}"
        mode: "0600"
"""


def community_picture(raw: dict[str, Any]) -> dict[str, Any]:
    """What the community playbook read, in the shape of ours (for the comparison)."""
    cluster_of = {
        h["name"]: name for name, cluster in raw["clusters"].items() for h in cluster["hosts"]
    }
    datastores = {
        result["item"]: sorted(d["name"] for d in result["datastores"])
        for result in raw["datastores"]
    }
    portgroups: dict[str, list[str]] = {}
    for result in raw["portgroups"]:
        for host, groups in result["hosts_portgroup_info"].items():
            portgroups[host] = sorted(g["portgroup"] for g in groups)
    hosts = {
        facts["name"]: {
            "connection_state": facts["runtime"]["connectionState"],
            "maintenance_mode": facts["runtime"]["inMaintenanceMode"],
            "version": facts["config"]["product"]["version"],
            "datastores": datastores.get(cluster_of.get(facts["name"], ""), []),
            "networks": portgroups.get(facts["name"], []),
        }
        for facts in raw["hosts"]
    }
    disks = {
        result["item"]["moid"]: sorted(d["label"] for d in result["guest_disk_info"].values())
        for result in raw["disks"]
    }
    vms = {
        vm["guest_name"]: {
            "folder": vm["folder"].rsplit("/", 1)[-1],
            "power_state": vm["power_state"],
            "disks": disks.get(vm["moid"], []),
        }
        for vm in raw["vms"]
    }
    return {"hosts": hosts, "vms": vms}


def compare_pictures(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, str]:
    """Per field, how many objects both sides read alike ("64/64")."""
    ours_hosts = {h["name"]: h for h in ours["site"].hosts}
    ours_vms = {v["name"]: v for v in ours["vms_found"]}
    ours_networks = set(ours["site"].networks.values())
    report: dict[str, str] = {}

    def count(field: str, total: int, same: int) -> None:
        report[field] = f"{same}/{total}"

    host_fields = ("connection_state", "maintenance_mode", "version", "datastores")
    count("host names", len(ours_hosts), len(ours_hosts.keys() & theirs["hosts"].keys()))
    for name in host_fields:
        same = sum(
            1
            for host, mine in ours_hosts.items()
            if host in theirs["hosts"] and theirs["hosts"][host][name] == mine[name]
        )
        count(f"host {name}", len(ours_hosts), same)
    # Theirs holds the standard port groups only (with the vmkernel one, which is no vSphere
    # network): count the hosts whose standard networks they read.
    same = sum(
        1
        for host, mine in ours_hosts.items()
        if host in theirs["hosts"]
        and {n for n in mine["networks"] if n in theirs["hosts"][host]["networks"]}
        == set(theirs["hosts"][host]["networks"]) & ours_networks
    )
    count("host networks (standard port groups only)", len(ours_hosts), same)
    count("VM names", len(ours_vms), len(ours_vms.keys() & theirs["vms"].keys()))
    for name in ("folder", "power_state"):
        same = sum(
            1
            for vm, mine in ours_vms.items()
            if vm in theirs["vms"] and theirs["vms"][vm][name] == mine[name]
        )
        count(f"VM {name}", len(ours_vms), same)
    same = sum(
        1
        for vm, mine in ours_vms.items()
        if vm in theirs["vms"]
        and theirs["vms"][vm]["disks"] == sorted(d["label"] for d in mine["disks"])
    )
    count("VM disks", len(ours_vms), same)
    return report


def measure_community(host: str, port: int, ca_file: Path, datacenter: str) -> dict[str, Any]:
    bin_dir = ensure_ansible12()
    with tempfile.TemporaryDirectory(prefix="vmrepl-bench-community-") as tmp:
        workdir = Path(tmp)
        (workdir / "ansible.cfg").write_text("[defaults]\n")  # none of this repository's
        (workdir / "bench.yml").write_text(COMMUNITY_PLAYBOOK)
        output = workdir / "picture.json"
        (workdir / "vars.json").write_text(
            json.dumps({"bench_datacenter": datacenter, "bench_output": str(output)})
        )
        settled_calls(host, port, ca_file)
        calls(host, port, ca_file, reset=True)
        env = {
            **os.environ,
            "VMWARE_HOST": host,
            "VMWARE_PORT": str(port),
            "VMWARE_USER": USER,
            "VMWARE_PASSWORD": PASSWORD,
            # community.vmware takes no CA file; Python's ssl module honours SSL_CERT_FILE.
            "SSL_CERT_FILE": str(ca_file),
            "VMWARE_VALIDATE_CERTS": "true",
            "ANSIBLE_CONFIG": str(workdir / "ansible.cfg"),
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",  # seconds per task
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }
        started = time.perf_counter()
        run = subprocess.run(
            [
                str(bin_dir / "ansible-playbook"),
                str(workdir / "bench.yml"),
                "-e",
                f"@{workdir / 'vars.json'}",
                "-e",
                f"ansible_python_interpreter={bin_dir / 'python'}",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            cwd=workdir,
        )
        seconds = time.perf_counter() - started
        if run.returncode != 0:
            raise RuntimeError(
                f"community.vmware run failed:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
            )
        counted = settled_calls(host, port, ca_file)
        picture = community_picture(json.loads(output.read_text()))
    tasks = {
        m["task"]: float(m["seconds"])
        for m in re.finditer(r"^(?P<task>\S.*?) -+ (?P<seconds>\d+\.\d+)s$", run.stdout, re.M)
    }
    return {
        "calls": sum(counted.values()),
        "by_method": counted,
        "seconds": round(seconds, 2),
        "task_seconds": tasks,
        "picture": picture,
    }


VMREPL_PLAYBOOK = """
- name: The same picture, read with vmrepl.core modules
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Every host with its datastores and networks
      vmrepl.core.hypervisor_info:
      register: bench_hosts

    - name: Every VM with its folder, power state and disks
      vmrepl.core.vm_info:
      register: bench_vms
"""


def measure_vmrepl_playbook(host: str, port: int, ca_file: Path) -> dict[str, Any]:
    """Our two modules in a playbook, through ansible-runner: the same kind of run as theirs."""
    from vmrepl.runner import run_playbook

    workdir = Path(tempfile.mkdtemp(prefix="vmrepl-bench-ours-"))  # kept when the run fails
    playbook = workdir / "bench.yml"
    playbook.write_text(VMREPL_PLAYBOOK)
    inventory = workdir / "hosts.ini"  # not the repository's lab inventory, which starts a lab
    inventory.write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    settled_calls(host, port, ca_file)
    calls(host, port, ca_file, reset=True)
    started = time.perf_counter()
    result = run_playbook(
        str(playbook),
        inventory=str(inventory),
        envvars={
            "VMWARE_HOST": host,
            "VMWARE_PORT": str(port),
            "VMWARE_USER": USER,
            "VMWARE_PASSWORD": PASSWORD,
            "VMWARE_CA_FILE": str(ca_file),
        },
        artifact_dir=workdir / "artifacts",
    )
    seconds = time.perf_counter() - started
    if result.status != "successful":
        raise RuntimeError(f"vmrepl playbook run {result.status}; artifacts in {workdir}")
    counted = settled_calls(host, port, ca_file)
    shutil.rmtree(workdir, ignore_errors=True)
    return {"calls": sum(counted.values()), "by_method": counted, "seconds": round(seconds, 2)}


def ratio(theirs: float, ours: float) -> float:
    return round(theirs / ours, 1) if ours else float("inf")


def stop_on_sigterm() -> None:
    """SIGTERM ends the run through the ``finally`` blocks, which stop what it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--vms", type=int, default=2000)
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also read the same picture with community.vmware / vmware.vmware (ansible 12.3); "
        "about 1.3 s per host and per VM on 2 cores",
    )
    args = parser.parse_args()
    stop_on_sigterm()

    with tempfile.TemporaryDirectory(prefix="vmrepl-bench-") as tmp:
        workdir = Path(tmp)
        started, host, port = start(args.hosts, args.vms, workdir)
        ca_file = workdir / "certs" / "ca.pem"
        try:
            first = measure_ours(host, port, ca_file)  # warm-up, then the same site again
            ours = measure_ours(host, port, ca_file)
            playbook = measure_vmrepl_playbook(host, port, ca_file)
            site = {"hosts": ours["hosts"], "vms": ours["vms"]}
            result: dict[str, Any] = {
                "benchmark": "discovery",
                "site": site,
                "vmrepl": {k: ours[k] for k in ("calls", "by_method", "seconds")},
                "vmrepl_playbook": playbook,
            }
            print(f"site: {site['hosts']} hosts, {site['vms']} VMs")
            print(
                f"vmrepl discover() + discover_vms(), in-process: {ours['calls']} SOAP calls, "
                f"{ours['seconds']} s (first run {first['calls']} calls, {first['seconds']} s)"
            )
            print(f"  by method: {ours['by_method']}")
            print(
                f"vmrepl.core hypervisor_info + vm_info, a playbook through ansible-runner: "
                f"{playbook['calls']} SOAP calls, {playbook['seconds']} s"
            )
            if args.compare:
                theirs = measure_community(host, port, ca_file, "DC0")
                agreement = compare_pictures(ours, theirs.pop("picture"))
                result["community"] = theirs
                result["same_picture"] = agreement
                result["ratio_calls"] = ratio(theirs["calls"], playbook["calls"])
                result["ratio_seconds"] = ratio(theirs["seconds"], playbook["seconds"])
                print(
                    f"community.vmware 5.10 + vmware.vmware 2.6, a playbook: "
                    f"{theirs['calls']} SOAP calls, {theirs['seconds']} s"
                )
                print(f"  by method: {theirs['by_method']}")
                print(
                    "  seconds by task: "
                    + "; ".join(f"{k} {v:.0f}" for k, v in theirs["task_seconds"].items())
                )
                print(
                    "  modules: vmware.vmware.cluster_info; per host vmware_host_facts "
                    "(schema vsphere: the summary schema fails on vcsim); per cluster "
                    "vmware_datastore_info and vmware_portgroup_info (standard port groups: "
                    "the distributed ones cannot be read on vcsim); vmware_vm_info; per VM "
                    "vmware_guest_disk_info"
                )
                print(
                    "  same picture (objects read alike / ours): "
                    + ", ".join(f"{k} {v}" for k, v in agreement.items())
                )
                print(
                    f"ratio (theirs / our playbook): calls {result['ratio_calls']}x, "
                    f"seconds {result['ratio_seconds']}x; (theirs / ours in-process): calls "
                    f"{ratio(theirs['calls'], ours['calls'])}x, "
                    f"seconds {ratio(theirs['seconds'], ours['seconds'])}x"
                )
            print(json.dumps(result))
        finally:
            process.stop(started.pid)


if __name__ == "__main__":
    main()
