"""scripts/test.sh leaves nothing behind: a lab process a test left running fails the run, named
by pid, and is stopped by the exit trap; a failing run is cleaned up too; a lab that the run did
not start (a developer's) is neither counted nor stopped.

A stand-in lab process is cheap: a sleeping Python whose command line reads like the ZVM
simulator's (``python -m vmrepl.lab.zvm``), started detached as the lab starts its servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "test.sh"
#: Starts a detached stand-in lab process, prints its pid, and returns at once.
SPAWN = (
    "import subprocess, sys\n"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)',"
    " '-m vmrepl.lab.zvm', '--site-name', 'left-behind'], start_new_session=True,"
    " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    "print(p.pid, flush=True)\n"
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not alive(pid)


def run_script(*command: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "VMREPL_TEST_RUN"}
    env["VMREPL_LAB_DIR"] = str(tmp / "lab")  # never the tests' or a developer's lab
    return subprocess.run(
        [str(SCRIPT), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def spawned_pid(output: str) -> int:
    return int(next(line for line in output.splitlines() if line.strip().isdigit()))


def test_a_clean_run_ends_saying_no_lab_process_is_left(tmp_path: Path) -> None:
    done = run_script("true", tmp=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No lab process left." in done.stdout


def test_a_lab_process_left_running_fails_the_run_and_is_stopped(tmp_path: Path) -> None:
    done = run_script("python", "-c", SPAWN, tmp=tmp_path)
    pid = spawned_pid(done.stdout)
    try:
        assert done.returncode != 0
        assert "Lab processes left running by the tests" in done.stderr
        assert str(pid) in done.stderr and "left-behind" in done.stderr
        assert gone(pid), "the exit trap did not stop the process"
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_a_failing_run_still_stops_what_it_started(tmp_path: Path) -> None:
    command = SPAWN + "raise SystemExit(3)\n"
    done = run_script("python", "-c", command, tmp=tmp_path)
    pid = spawned_pid(done.stdout)
    try:
        assert done.returncode == 3  # the run's own failure, kept
        assert gone(pid)
    finally:
        if alive(pid):
            os.kill(pid, 9)


def test_a_lab_the_run_did_not_start_is_left_alone(tmp_path: Path) -> None:
    # Started before the run, without its mark: a developer's lab (or another run's).
    outside = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(120)", "-m vmrepl.lab.zvm"],
        start_new_session=True,
        env={k: v for k, v in os.environ.items() if k != "VMREPL_TEST_RUN"},
    )
    try:
        done = run_script("true", tmp=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert alive(outside.pid)
    finally:
        outside.kill()
        outside.wait(timeout=10)
