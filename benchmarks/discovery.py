"""Discovery of a large site: SOAP calls and seconds, ours against community.vmware's.

    python -m benchmarks.discovery [--hosts 64] [--vms 2000] [--compare]

Starts a vcsim with ``--hosts`` hypervisors (two clusters) and ``--vms`` VMs, counting SOAP
calls by method (vcsim's ``-count-calls``). Measures:

- ours: ``discover()`` + ``discover_vms()`` (what hypervisor_info and vpg read), in-process;
- with ``--compare``: ``community.vmware.vmware_host_info`` + ``vmware_vm_info`` from the
  ``ansible`` 12.3 package (community.vmware 5.10), installed into ``.cache/bench-ansible12``
  (a separate venv, made on first use), run through ``ansible localhost -m``.

Prints the calls and seconds of each, the ratios, and a JSON line for pipelines. Run it by hand
or in a non-gating CI step; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.discovery import discover, discover_vms
from ansible_collections.vmrepl.core.plugins.module_utils.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
)
from vmrepl.lab import process
from vmrepl.lab.certs import ensure_lab_certificates
from vmrepl.lab.vcsim import REPO_ROOT, vcsim_binary

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
    import ssl

    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(
        f"https://{host}:{port}/vmrepl/calls", method="DELETE" if reset else "GET"
    )
    with urllib.request.urlopen(request, context=context) as response:
        return dict(json.load(response))


def measure_ours(host: str, port: int, ca_file: Path) -> dict[str, Any]:
    calls(host, port, ca_file, reset=True)
    started = time.perf_counter()
    params = VSphereConnectionParams(host, USER, PASSWORD, port=port, ca_file=str(ca_file))
    with VSphereClient.connect(params) as client:
        site = discover(client)
        vms = discover_vms(client)
    seconds = time.perf_counter() - started
    counted = calls(host, port, ca_file)
    return {
        "host_names": [h["name"] for h in site.hosts],
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
- name: What community.vmware reads for the same picture
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Facts of every host (community.vmware 5.10 has no vmware_host_info)
      community.vmware.vmware_host_facts:
        esxi_hostname: "{{ item }}"
        schema: vsphere  # the summary schema asks vSAN, which vcsim lacks
        properties: [name, runtime.connectionState, runtime.inMaintenanceMode,
                     config.product.version, datastore, network]
      loop: "{{ bench_hosts }}"
    - name: Every VM
      community.vmware.vmware_vm_info:
"""


def measure_community(host: str, port: int, ca_file: Path, host_names: list[str]) -> dict[str, Any]:
    bin_dir = ensure_ansible12()
    workdir = Path(tempfile.mkdtemp(prefix="vmrepl-bench-community-"))
    (workdir / "ansible.cfg").write_text("[defaults]\n")  # none of this repository's settings
    (workdir / "bench.yml").write_text(COMMUNITY_PLAYBOOK)
    (workdir / "vars.json").write_text(json.dumps({"bench_hosts": host_names}))
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
    counted = calls(host, port, ca_file)
    return {"calls": sum(counted.values()), "by_method": counted, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=64)
    parser.add_argument("--vms", type=int, default=2000)
    parser.add_argument(
        "--compare", action="store_true", help="also run community.vmware (ansible 12.3)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="vmrepl-bench-") as tmp:
        workdir = Path(tmp)
        started, host, port = start(args.hosts, args.vms, workdir)
        ca_file = workdir / "certs" / "ca.pem"
        try:
            small = measure_ours(host, port, ca_file)  # warm-up, and the same site again
            ours = measure_ours(host, port, ca_file)
            result: dict[str, Any] = {
                "site": {"hosts": ours["hosts"], "vms": ours["vms"]},
                "ours": ours,
            }
            print(f"site: {ours['hosts']} hosts, {ours['vms']} VMs")
            print(
                f"vmrepl discovery: {ours['calls']} SOAP calls, {ours['seconds']} s "
                f"(first run {small['calls']} calls, {small['seconds']} s)"
            )
            print(f"  by method: {ours['by_method']}")
            if args.compare:
                theirs = measure_community(host, port, ca_file, ours["host_names"])
                result["community_vmware"] = theirs
                result["ratio_calls"] = round(theirs["calls"] / max(ours["calls"], 1), 1)
                result["ratio_seconds"] = round(theirs["seconds"] / max(ours["seconds"], 0.01), 1)
                print(
                    f"community.vmware host_info + vm_info: {theirs['calls']} SOAP calls, "
                    f"{theirs['seconds']} s"
                )
                print(
                    f"ratio (theirs / ours): calls {result['ratio_calls']}x, "
                    f"seconds {result['ratio_seconds']}x"
                )
            ours.pop("host_names", None)
            print(json.dumps(result))
        finally:
            process.stop(started.pid)


if __name__ == "__main__":
    main()
