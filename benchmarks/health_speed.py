"""How long `vmrepl health` takes, the direct read (what Nagios runs every minute) against the
playbook path it replaced (health.yml through ansible-runner, as `vmrepl health` ran before):
each a new process per check, on a lab deployed with its default VPG (the aim: about a second).

    python -m benchmarks.health_speed [--runs N] [--no-deploy]

Prints the median of each and their ratio (and the direct check's CPU time, which a busy
machine changes less than the wall time), then one JSON line. Nothing is asserted.
``--no-deploy``: ZVMs only (no VRAs, pairing or VPG; quicker to set up, the same reads).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.cli_help import vmrepl
from vmrepl.lab import manager
from vmrepl.runner import run_playbook

AIM_SECONDS = 1.0


def cpu() -> float:
    """CPU seconds of this process and its finished children (a busy machine changes them
    less than the wall time)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def direct(env: dict[str, str], cpus: list[float] | None = None) -> float:
    started, used = time.perf_counter(), cpu()
    done = subprocess.run(
        [*vmrepl(), "health"], env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if cpus is not None:
        cpus.append(cpu() - used)
    if done.returncode == 3:
        raise SystemExit(f"vmrepl health could not read the lab: {done.stdout}")
    return seconds


def playbook(env: dict[str, str], artifacts: Path, cpus: list[float]) -> float:
    started, used = time.perf_counter(), cpu()
    run_playbook("health.yml", envvars=env, artifact_dir=artifacts)
    cpus.append(cpu() - used)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="checks of each kind (5)")
    parser.add_argument("--no-deploy", action="store_true", help="ZVMs only, no VPG")
    options = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="vmrepl-bench-health-"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        spec = manager.LabSpec(deployed=True, task_seconds=0.3, boot_seconds=1.0)
        manager.up(spec, directory)
        env = {
            **os.environ,
            "VMREPL_LAB_DIR": str(directory),
            "VMREPL_ARTIFACT_DIR": str(directory / "artifacts"),
        }
        lab_env = {"VMREPL_LAB_DIR": str(directory)}
        if not options.no_deploy:
            result = run_playbook(
                "deploy_remote.yml", envvars=lab_env, artifact_dir=directory / "deploy"
            )
            if result.status != "successful":
                raise SystemExit(f"the deployment of the lab {result.status}")
        direct(env)  # warm the disk cache
        fast_cpu: list[float] = []
        fast = [direct(env, fast_cpu) for _ in range(options.runs)]
        slow_cpu: list[float] = []
        slow = [playbook(lab_env, directory / "artifacts", slow_cpu) for _ in range(options.runs)]
    finally:
        manager.down(directory)
    fast_median, slow_median = statistics.median(fast), statistics.median(slow)
    ratio = slow_median / fast_median
    fast_cpu_median, slow_cpu_median = statistics.median(fast_cpu), statistics.median(slow_cpu)
    cpu_ratio = slow_cpu_median / fast_cpu_median
    verdict = "within" if fast_median <= AIM_SECONDS * 1.5 else "OVER"
    print(
        f"vmrepl health (direct read)   median {fast_median:.2f} s "
        f"(min {min(fast):.2f}, max {max(fast):.2f}; aim about {AIM_SECONDS:g} s: {verdict}); "
        f"CPU {fast_cpu_median:.2f} s"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"health.yml (ansible-runner)   median {slow_median:.2f} s (min {min(slow):.2f}); "
        f"CPU {slow_cpu_median:.2f} s"
    )
    print(
        f"the direct check is {ratio:.1f}x faster than the playbook path "
        f"({cpu_ratio:.1f}x less CPU)"
    )
    print(
        json.dumps(
            {
                "benchmark": "health_speed",
                "direct_median_seconds": round(fast_median, 3),
                "direct_median_cpu_seconds": round(fast_cpu_median, 3),
                "playbook_median_cpu_seconds": round(slow_cpu_median, 3),
                "cpu_ratio": round(cpu_ratio, 2),
                "playbook_median_seconds": round(slow_median, 3),
                "ratio": round(ratio, 2),
                "runs": options.runs,
                "deployed": not options.no_deploy,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
