"""Run every benchmark at its default size: ``python -m benchmarks`` (``make bench``).

    python -m benchmarks [--no-compare]

1. discovery: 64 hosts / 2000 VMs, ours against community.vmware (``--no-compare``: ours only;
   the community side takes most of the time, about 1.3 s per host and per VM on 2 cores);
2. vra_rollout: 2 and 32 hosts per site, each VRA install taking 3 s, three runs of each;
3. cli_help: ``vmrepl --help`` in a new process, 15 runs;
4. exporter_calls: the exporter's ZVM calls and seconds per scrape at 1 VPG and at 50;
5. health_speed: ``vmrepl health`` (the direct read) against the playbook it replaced, 5 runs;
6. sizing_calls: QueryPerf calls for a day of write rates of 10 VMs and of 100;
7. idle_lab_cpu: the share of a core an idle, deployed lab's processes use.

Each runs in its own process and prints its figures and a JSON line. Nothing is asserted; the
exit status says only whether every benchmark ran.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time


def run_one(argv: list[str]) -> int:
    """Run one benchmark; SIGTERM reaches it (it then stops what it started) and ends this run."""
    child = subprocess.Popen(argv)

    def stop(*_: object) -> None:
        child.terminate()
        child.wait()
        sys.exit(143)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return child.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the community.vmware side of discovery"
    )
    args = parser.parse_args()
    runs = [
        ["benchmarks.discovery"] + ([] if args.no_compare else ["--compare"]),
        ["benchmarks.vra_rollout"],
        ["benchmarks.cli_help"],
        ["benchmarks.exporter_calls"],
        ["benchmarks.health_speed"],
        ["benchmarks.sizing_calls"],
        ["benchmarks.idle_lab_cpu"],
    ]
    failed = []
    for module, *options in runs:
        print(f"== {module} {' '.join(options)}".rstrip(), flush=True)
        started = time.perf_counter()
        returncode = run_one([sys.executable, "-m", module, *options])
        print(f"== {module}: exit {returncode}, {time.perf_counter() - started:.0f} s\n")
        if returncode != 0:
            failed.append(module)
    if failed:
        print(f"Did not finish: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
