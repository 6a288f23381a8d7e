"""What an idle lab costs: the CPU its processes use while nobody calls them.

    python -m benchmarks.idle_lab_cpu [--seconds 30] [--no-deploy]

Starts a lab of two sites with their ZVMs deployed and runs the real ``deploy_remote.yml`` on it
(VRAs, pairing, the default VPG: the state most lab tests leave their fixture in), waits for the
runner to settle, then reads every lab process's CPU time (utime + stime from
``/proc/<pid>/stat``) at the start and the end of ``--seconds`` of idling. The test suite runs
many such labs side by side on two cores, so what an idle lab burns is taken from every test.

Prints each part's share of one core (CPU seconds per wall second: the ZVM simulators' heartbeat,
alert, maintenance and boot rounds; vcsim answering them) against the aim (the simulators under
0.05 of a core each), and a JSON line. It asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.lab import DeployFailed, deployed_lab

AIM = 0.05


def cpu_seconds(pid: int) -> float:
    """The process's user and system CPU time so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parts(state: dict[str, Any]) -> dict[str, int]:
    return {
        f"{site['name']} {part}": int(site[part]["pid"])
        for site in state["sites"]
        for part in ("zvm", "vcenter")
    }


def measure(pids: dict[str, int], seconds: float) -> dict[str, float]:
    start = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - began
    return {name: (cpu_seconds(pid) - start[name]) / wall for name, pid in pids.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to idle (30)")
    parser.add_argument(
        "--no-deploy", action="store_true", help="measure the booted sites before deploy_remote"
    )
    args = parser.parse_args()
    if args.seconds <= 0:
        parser.error("--seconds must be above 0")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with deployed_lab("vmrepl-bench-idle-", deploy=not args.no_deploy) as state:
            time.sleep(3)  # the last tasks' threads end, the runner's children are gone
            shares = measure(parts(state), args.seconds)
    except DeployFailed as exc:
        print(exc, file=sys.stderr)
        return 1
    for name, share in shares.items():
        print(f"{name:16} {share:6.3f} of a core")
    zvms = [share for name, share in shares.items() if name.endswith(" zvm")]
    print(
        f"ZVM simulators idle: {max(zvms):.3f} of a core at most "
        f"(aim under {AIM:.2f}); the whole lab: {sum(shares.values()):.3f}"
    )
    print(
        json.dumps(
            {
                "benchmark": "idle_lab_cpu",
                "seconds": args.seconds,
                "deployed": not args.no_deploy,
                "core_share": {k: round(v, 4) for k, v in shares.items()},
                "zvm_max": round(max(zvms), 4),
                "aim": AIM,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
