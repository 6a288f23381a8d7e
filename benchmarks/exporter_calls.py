"""The exporter's cost per scrape: ZVM calls and seconds at 1 VPG and at 50; vCenter calls of its
backup read at 1 VM and at 50.

    python -m benchmarks.exporter_calls [--small 1] [--large 50] [--scrapes 5] [--vm-small 1]
        [--vm-large 50]

Starts a lab of two sites with their ZVMs deployed, runs the real ``deploy_remote.yml`` (VRAs,
pairing, the default VPG: ``--small`` is 1), and scrapes both sites with the exporter's
collector in-process (``vmrepl.operate.exporter``, the clients the exporter makes), after one
warm-up scrape (the login, the local site and the enum names). Then adds VPGs through the ZVM's
own API (settings objects copied from the default VPG, without VMs) until the source has
``--large`` of them, and scrapes again. Per scrape and site: the HTTP requests the clients
made (``ZvmClient.calls``, what ``vmrepl_exporter_zvm_requests_total`` counts) and the
collection's duration, medians of ``--scrapes`` scrapes.

Prints calls(large) / calls(small) (the aim is 1.0: a fixed number of list calls whatever the
number of VPGs; an exporter that reads each VPG gives about 50) and the scrape durations (the
aim: well under a second), and a JSON line. It asserts nothing.

Then the backup read's vCenter calls (``SiteReader.read_backup``: the last backups, datastores
and proxies of a site) at ``--vm-small`` (1) and ``--vm-large`` (50) VMs: a vcsim of each size
(our build, ``-count-calls``, no ZVM), read after one warm-up read (the login);
per read, the SOAP calls vcsim counted and those the client counted
(``vmrepl_exporter_vcenter_requests_total``), medians of ``--scrapes`` reads, and their ratio
(aim 1.00: one PropertyCollector read whatever the number of VMs; one call per VM gives 50).
"""

from __future__ import annotations

import argparse
import json
import signal
import ssl
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    ZvmClient,
    ZvmConnectionParams,
    json_field,
)
from benchmarks.lab import DeployFailed, deployed_lab
from vmrepl.operate.exporter import SiteReader, ZvmCollector
from vmrepl.operate.sites import Site


def readers(state: dict[str, Any]) -> list[SiteReader]:
    found = []
    for site in state["sites"]:
        zvm = {k: site["zvm"][k] for k in ("url", "username", "password", "ca_file")}
        found.append(SiteReader(Site(site["name"], "remote", ["vmrepl_sites"], zvm=zvm)))
    return found


def measure(collector: ZvmCollector, scrapes: int) -> dict[str, Any]:
    collector.collect_sites(collector.readers)  # warm-up: login, local site, enum names
    calls: list[int] = []
    seconds: list[float] = []
    up = True
    for _ in range(scrapes):
        before = sum(r.requests for r in collector.readers)
        started = time.perf_counter()
        families = collector.collect_sites(collector.readers)
        seconds.append(time.perf_counter() - started)
        calls.append(
            (sum(r.requests for r in collector.readers) - before) // len(collector.readers)
        )
        [zvm_up] = [f for f in families if f.name == "vmrepl_zvm_up"]
        up = up and all(s.value == 1 for s in zvm_up.samples)
    vpgs = sum(
        1
        for f in families
        if f.name == "vmrepl_vpg_info"
        for s in f.samples
        if s.labels["site"] == "source"
    )
    return {
        "vpgs": vpgs,
        "calls_per_site": statistics.median(calls),
        "scrape_seconds": round(statistics.median(seconds), 3),
        "all_up": up,
    }


def vcsim_calls(vcenter: dict[str, Any], reset: bool = False) -> dict[str, int]:
    """vcsim's SOAP calls by method (``-count-calls``), once they stop moving (it counts them
    from its trace, read through a pipe)."""

    def read() -> dict[str, int]:
        request = urllib.request.Request(
            f"https://{vcenter['host']}:{vcenter['port']}/vmrepl/calls",
            method="DELETE" if reset else "GET",
        )
        context = ssl.create_default_context(cafile=vcenter["ca_file"])
        with urllib.request.urlopen(request, context=context) as response:
            return dict(json.loads(response.read()))

    counted = read()
    while not reset:
        time.sleep(0.3)
        again = read()
        if again == counted:
            break
        counted = again
    return counted


def measure_vcenter(vms: int, scrapes: int) -> dict[str, Any]:
    """The backup read of a site with ``vms`` VMs, against a vcsim of its own (our build, with
    ``-count-calls``; no ZVM simulator, whose own reads vcsim would count too)."""
    import secrets

    from vmrepl.lab import process
    from vmrepl.lab.certs import ensure_lab_certificates
    from vmrepl.lab.vcsim import VcsimTopology, start_vcsim

    directory = Path(tempfile.mkdtemp(prefix="vmrepl-bench-exporter-vc-"))
    password = secrets.token_urlsafe(12)
    cert = ensure_lab_certificates(directory / "certs")
    started = start_vcsim(
        VcsimTopology(hosts=2, vms=vms, count_calls=True),
        cert,
        "bench",
        password,
        directory / "vcsim.log",
    )
    try:
        host, port = str(started.ready["url"]).split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
        vc = {"host": host, "port": int(port), "ca_file": str(cert.ca_file)}
        site = Site(
            "source",
            "remote",
            ["vmrepl_sites"],
            zvm={"url": "https://127.0.0.1:9", "username": "unused", "password": "unused"},
            vcenter={
                "hostname": host,
                "port": int(port),
                "username": "bench",
                "password": password,
                "validate_certs": True,
                "ca_file": str(cert.ca_file),
            },
            backup={"backup_hosts_clusters": ["DC0_C0"]},
        )
        reader = SiteReader(site)
        try:
            reader.read_backup(zvm_up=False)  # warm-up: the login
            counted: list[int] = []
            ours: list[int] = []
            customer_vms = 0
            for _ in range(scrapes):
                vcsim_calls(vc)
                vcsim_calls(vc, reset=True)
                before = reader.vcenter_requests
                samples = reader.read_backup(zvm_up=False)
                ours.append(reader.vcenter_requests - before)
                counted.append(sum(vcsim_calls(vc).values()))
                customer_vms = sum(1 for s in samples if s[0] == "vmrepl_vm_last_backup_known")
        finally:
            reader.close()
    finally:
        process.stop(started.pid)
    return {
        "vms": customer_vms,
        "vcsim_calls": statistics.median(counted),
        "client_calls": statistics.median(ours),
    }


def add_vpgs(zvm: ZvmClient, total: int) -> None:
    """Empty VPGs copied from the default one's settings, until the site has ``total``."""
    existing = zvm.vpgs()
    [default] = existing[:1]
    edit = zvm.vpg_settings_create(str(json_field(default, "VpgIdentifier")))
    template = zvm.vpg_settings_get(edit)
    zvm.vpg_settings_delete(edit)
    tasks = []
    for index in range(len(existing), total):
        settings = zvm.vpg_settings_create()
        body = zvm.vpg_settings_get(settings)
        for key in ("Basic", "Journal", "Scratch", "Recovery", "Networks"):
            if key in template:
                body[key] = template[key]
        body["Basic"] = {**template["Basic"], "Name": f"bench-{index:03d}"}
        body["Vms"] = []
        zvm.vpg_settings_put(settings, body)
        tasks.append(zvm.vpg_settings_commit(settings))
    zvm.wait_for_tasks(tasks, timeout=600, interval=0.5)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=1, help="VPGs of the first measure (1)")
    parser.add_argument("--large", type=int, default=50, help="VPGs of the second measure")
    parser.add_argument("--scrapes", type=int, default=5)
    parser.add_argument("--vm-small", type=int, default=1, help="VMs of the first vCenter read")
    parser.add_argument("--vm-large", type=int, default=50, help="VMs of the second")
    args = parser.parse_args()
    if args.small != 1:
        parser.error("--small is the default VPG of the deployment: 1")
    if not 1 <= args.vm_small <= args.vm_large:
        parser.error("give 1 <= --vm-small <= --vm-large")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with deployed_lab("vmrepl-bench-exporter-") as state:
            collector = ZvmCollector(readers(state))
            small = measure(collector, args.scrapes)
            source = next(s for s in state["sites"] if s["name"] == "source")["zvm"]
            params = ZvmConnectionParams(
                source["url"], source["username"], source["password"], ca_file=source["ca_file"]
            )
            with ZvmClient(params) as zvm:
                add_vpgs(zvm, args.large)
            large = measure(collector, args.scrapes)
            for reader in collector.readers:
                reader.close()
    except DeployFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    ratio = large["calls_per_site"] / small["calls_per_site"]
    print(
        f"ZVM calls per scrape and site: {small['calls_per_site']:g} at {small['vpgs']} VPG, "
        f"{large['calls_per_site']:g} at {large['vpgs']} VPGs: ratio {ratio:.2f} (aim 1.00)"
    )
    print(
        f"scrape of both sites: {small['scrape_seconds']:.3f} s at {small['vpgs']} VPG, "
        f"{large['scrape_seconds']:.3f} s at {large['vpgs']} VPGs (aim: well under 1 s)"
    )
    vc_small = measure_vcenter(args.vm_small, args.scrapes)
    vc_large = measure_vcenter(args.vm_large, args.scrapes)
    vc_ratio = vc_large["vcsim_calls"] / vc_small["vcsim_calls"]
    print(
        f"vCenter calls per backup read of a site: {vc_small['vcsim_calls']:g} at "
        f"{vc_small['vms']} VM, {vc_large['vcsim_calls']:g} at {vc_large['vms']} VMs "
        f"(vcsim's count; the client's: {vc_small['client_calls']:g} and "
        f"{vc_large['client_calls']:g}): ratio {vc_ratio:.2f} (aim 1.00)"
    )
    print(
        json.dumps(
            {
                "benchmark": "exporter_calls",
                "small": small,
                "large": large,
                "ratio": ratio,
                "vcenter": {"small": vc_small, "large": vc_large, "ratio": vc_ratio},
            }
        )
    )
    return 0 if small["all_up"] and large["all_up"] else 1


if __name__ == "__main__":
    sys.exit(main())
