"""How long `vmrepl --help` takes: a new process each time, as a user or a shell completion
runs it (the aim: under 0.3 s). The command imports rich, ansible-runner and the collection only
when a subcommand runs, so help costs Python's start-up, click and the command definitions.

    python -m benchmarks.cli_help [--runs N]

Prints the median, the fastest and the slowest run of `vmrepl --help` and of
`vmrepl deploy --help`, then one JSON line. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

AIM_SECONDS = 0.3


def vmrepl() -> list[str]:
    """This environment's console script (what users run), else the module."""
    script = shutil.which("vmrepl", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "vmrepl.cli"]


def timings(args: list[str], runs: int) -> list[float]:
    subprocess.run([*vmrepl(), *args], capture_output=True, check=True)  # warm the disk cache
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run([*vmrepl(), *args], capture_output=True, check=True)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (15)")
    options = parser.parse_args()
    results = {}
    for args in (["--help"], ["deploy", "--help"]):
        seconds = timings(args, options.runs)
        median = statistics.median(seconds)
        name = " ".join(["vmrepl", *args])
        results[name] = {
            "median_seconds": round(median, 3),
            "min_seconds": round(min(seconds), 3),
            "max_seconds": round(max(seconds), 3),
            "runs": options.runs,
        }
        verdict = "within" if median < AIM_SECONDS else "OVER"
        print(
            f"{name:<22} median {median:.3f} s (min {min(seconds):.3f}, max {max(seconds):.3f}, "
            f"{options.runs} runs): {verdict} the {AIM_SECONDS} s aim"
        )
    print(json.dumps({"benchmark": "cli_help", "aim_seconds": AIM_SECONDS, "results": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
