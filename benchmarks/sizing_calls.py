"""Sizing from vCenter: QueryPerf calls for 10 VMs against 100 VMs.

    python -m benchmarks.sizing_calls [--small 10] [--large 100]

Starts a vcsim (our build, ``src/vmrepl/lab/assets/vcsim``, with ``-count-calls``) per size,
reads a day of ``disk.write.average`` for every VM of its two clusters with
``vmrepl.sizing.vcenter.read`` (the ``--from-vcenter`` source), and prints the QueryPerf calls
and all SOAP calls of each, their ratio (large / small) against the ratio of VMs, and a JSON
line for pipelines. The calls grow with ceil(VMs / 64), not with the VMs. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    VSphereConnectionParams,
)
from benchmarks.discovery import PASSWORD, USER, calls, settled_calls, start
from vmrepl.lab import process
from vmrepl.sizing import vcenter


def measure(vms: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="vmrepl-bench-sizing-") as tmp:
        workdir = Path(tmp)
        started, host, port = start(2, vms, workdir)
        ca_file = workdir / "certs" / "ca.pem"
        try:
            settled_calls(host, port, ca_file)
            calls(host, port, ca_file, reset=True)
            params = VSphereConnectionParams(host, USER, PASSWORD, port=port, ca_file=str(ca_file))
            with VSphereClient.connect(params) as client:
                reading = vcenter.read(
                    client, [vcenter.Selection(vpg="all", clusters=("DC0_C0", "DC0_C1"))]
                )
            counted = settled_calls(host, port, ca_file)
        finally:
            process.stop(started.pid)
    return {
        "vms": len(reading.vms),
        "query_perf_calls": counted.get("QueryPerf", 0),
        "calls": sum(counted.values()),
        "by_method": counted,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=100)
    args = parser.parse_args()
    small, large = measure(args.small), measure(args.large)
    for label, result in (("small", small), ("large", large)):
        print(
            f"{label}: {result['vms']} VMs, {result['query_perf_calls']} QueryPerf call(s), "
            f"{result['calls']} SOAP calls in all"
        )
    ratio = large["query_perf_calls"] / max(1, small["query_perf_calls"])
    vm_ratio = large["vms"] / max(1, small["vms"])
    print(
        f"QueryPerf calls ratio {large['vms']} / {small['vms']} VMs: {ratio:g} "
        f"(VMs ratio {vm_ratio:g}; all SOAP calls ratio "
        f"{large['calls'] / max(1, small['calls']):.2f})"
    )
    print(
        json.dumps(
            {
                "benchmark": "sizing_calls",
                "small": small,
                "large": large,
                "query_perf_ratio": ratio,
                "vms_ratio": vm_ratio,
            }
        )
    )


if __name__ == "__main__":
    main()
