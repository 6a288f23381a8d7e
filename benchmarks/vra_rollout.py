"""The VRA rollout of a site: does it take as long for 32 hypervisors as for 2?

    python -m benchmarks.vra_rollout [--small 2] [--large 32] [--install-seconds 3] [--repeat 3]

For each size, starts a lab of two sites (remote edition) with that many hosts per site, makes
every VRA install of the ZVM simulators take ``--install-seconds`` (the admin API's
``task_seconds.vra_install``, at both sites), and runs the real ``deploy_remote.yml`` through
ansible-runner with the tags ``preflight,install`` (the installs need preflight's choice of
hosts). The figure is the duration of the task "Install a VRA on every customer-dedicated
hypervisor" (the ``vmrepl.core.vra`` module), from ansible-runner's events: the longer of the two
sites, which run at once; the median of ``--repeat`` runs, each on a fresh lab.

A rollout that installs one host after another takes about N x D; one that starts every install
of a site and polls the tasks together takes about D plus the calls around them. Prints
T(large) / T(small) (the target is 1.5 at most; a sequential rollout gives about 16 for 32 / 2)
and a JSON line. Run it by hand or in a non-gating CI step; it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import signal
import ssl
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from vmrepl.lab import manager
from vmrepl.runner import run_playbook

TASK = "Install a VRA on every customer-dedicated hypervisor"
TARGET_RATIO = 1.5


def set_install_seconds(site: dict[str, Any], seconds: float) -> None:
    """Every VRA install of this site's ZVM simulator takes ``seconds`` (admin API)."""
    zvm = site["zvm"]
    context = ssl.create_default_context(cafile=zvm["ca_file"])
    request = urllib.request.Request(
        zvm["url"] + "/lab/faults",
        data=json.dumps({"task_seconds": {"vra_install": seconds}}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, context=context) as response:
        faults = json.load(response)
    kinds = faults.get("task_seconds", {})
    if not isinstance(kinds, dict) or float(kinds.get("vra_install", -1)) != seconds:
        raise RuntimeError(f"The ZVM simulator did not take vra_install={seconds}: {faults}")


def install_tasks(site: dict[str, Any]) -> list[dict[str, Any]]:
    """The simulator's VRA install tasks of this site (admin API), with their epoch times."""
    zvm = site["zvm"]
    context = ssl.create_default_context(cafile=zvm["ca_file"])
    with urllib.request.urlopen(zvm["url"] + "/lab/state", context=context) as response:
        state = json.load(response)
    return [t for t in state["tasks"] if t["kind"] == "vra_install"]


def phases(data: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, float]:
    """Where the module's time went at one site: before the first install task started, while
    the installs were being started (one POST each), the last install itself, and after it
    finished (polling, the module's exit)."""
    begin = dt.datetime.fromisoformat(str(data["start"])).timestamp()
    end = dt.datetime.fromisoformat(str(data["end"])).timestamp()
    first = min(t["started"] for t in tasks)
    last = max(tasks, key=lambda t: t["started"])
    done = max(t["completed"] or end for t in tasks)
    return {
        "before_first_install": round(first - begin, 2),
        "starting_installs": round(last["started"] - first, 2),
        "last_install": round((last["completed"] or end) - last["started"], 2),
        "after_last_install": round(end - done, 2),
    }


def measure(hosts: int, install_seconds: float) -> dict[str, Any]:
    """One lab with ``hosts`` per site: the VRA task's duration at each site."""
    directory = Path(tempfile.mkdtemp(prefix="vmrepl-bench-vra-"))
    try:
        started = time.perf_counter()
        state, _ = manager.up(
            # ZVMs deployed and licensed: what is measured is the VRA rollout alone.
            manager.LabSpec(
                edition="remote", hosts=hosts, task_seconds=0.3, deployed=True, boot_seconds=0.5
            ),
            directory,
        )
        lab_seconds = time.perf_counter() - started
        for site in state["sites"]:
            set_install_seconds(site, install_seconds)
        started = time.perf_counter()
        result = run_playbook(
            "deploy_remote.yml",
            envvars={
                "VMREPL_LAB_DIR": str(directory),
                "VMREPL_REPORT_DIR": str(directory / "reports"),
                "ANSIBLE_RUN_TAGS": "preflight,install",
            },
            artifact_dir=directory / "artifacts",
        )
        run_seconds = time.perf_counter() - started
        if result.status != "successful":
            failed = [
                str(e["event_data"].get("res", {}).get("msg", ""))
                for e in result.events
                if e.get("event") == "runner_on_failed"
            ]
            raise RuntimeError(f"deploy_remote.yml {result.status} at {hosts} hosts: {failed}")
        by_name = {site["name"]: site for site in state["sites"]}
        sites = {}
        for data in result.results(TASK):
            res = data.get("res", {})
            sites[data["host"]] = {
                "seconds": round(float(data["duration"]), 2),
                "installed": len(res.get("installed", [])),
                "phases": phases(data, install_tasks(by_name[data["host"]])),
            }
        if len(sites) != len(state["sites"]):
            raise RuntimeError(f"Expected the task {TASK!r} at every site, found {sites}")
        short = {s: v for s, v in sites.items() if v["installed"] != hosts}
        if short:
            raise RuntimeError(f"Not every host got a VRA at {hosts} hosts: {short}")
        return {
            "hosts_per_site": hosts,
            "seconds": max(v["seconds"] for v in sites.values()),
            "sites": sites,
            "playbook_seconds": round(run_seconds, 1),
            "lab_start_seconds": round(lab_seconds, 1),
        }
    finally:
        manager.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


def stop_on_sigterm() -> None:
    """SIGTERM ends the run through the ``finally`` blocks, which stop what it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=2, help="hosts per site of the small run")
    parser.add_argument("--large", type=int, default=32, help="hosts per site of the large run")
    parser.add_argument(
        "--install-seconds",
        type=float,
        default=3.0,
        help="how long the simulator takes for one VRA install (D)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each size (a fresh lab each); the median"
    )
    args = parser.parse_args()
    stop_on_sigterm()
    if not 0 < args.small < args.large:
        parser.error("want 0 < --small < --large")

    runs: dict[int, list[dict[str, Any]]] = {args.small: [], args.large: []}
    for _ in range(args.repeat):  # alternate, so that a busy minute hits both sizes
        for hosts, measured in runs.items():
            measured.append(measure(hosts, args.install_seconds))
    times = {hosts: [r["seconds"] for r in measured] for hosts, measured in runs.items()}
    small, large = statistics.median(times[args.small]), statistics.median(times[args.large])
    ratio = round(large / small, 2)
    sequential = round(args.large / args.small, 1)
    for hosts, measured in runs.items():
        print(
            f"VRA rollout, {hosts} hosts per site, D={args.install_seconds:g} s: "
            f"median {statistics.median(times[hosts])} s of {times[hosts]} "
            "(the slower site of each run; whole tagged playbook "
            f"{[r['playbook_seconds'] for r in measured]} s)"
        )
        typical = sorted(measured, key=lambda r: r["seconds"])[len(measured) // 2]
        slower = max(typical["sites"].values(), key=lambda v: v["seconds"])
        print(
            "  where the time went (median run, slower site): "
            + ", ".join(f"{k.replace('_', ' ')} {v} s" for k, v in slower["phases"].items())
        )
    verdict = "within" if ratio <= TARGET_RATIO else "ABOVE"
    print(
        f"T({args.large})/T({args.small}) = {ratio} ({verdict} the target {TARGET_RATIO}; "
        f"one host after another would give about {sequential})"
    )
    print(
        json.dumps(
            {
                "benchmark": "vra_rollout",
                "install_seconds": args.install_seconds,
                "small": {"hosts_per_site": args.small, "seconds": small, "runs": runs[args.small]},
                "large": {"hosts_per_site": args.large, "seconds": large, "runs": runs[args.large]},
                "ratio": ratio,
                "target": TARGET_RATIO,
                "sequential_ratio": sequential,
            }
        )
    )


if __name__ == "__main__":
    main()
