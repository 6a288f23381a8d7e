"""Two pipelines pair the same site pair at the same moment, on a loaded machine with the ZVM's
pairing task slowed: one pairs, the other waits for it; neither fails, nothing is unpaired, and
each ZVM lists one peer, Paired."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import json_field
from tests.cli.conftest import Cli, Run
from tests.deploy.conftest import Lab, start_lab
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

PAIR_TASK = "pairing : Pair the source site with the target site"
#: Seconds the source ZVM takes for a pairing task (the race window of the two runs).
PAIR_SECONDS = 8
#: At most this long the machine is kept busy (the burners end by themselves after it).
LOAD_SECONDS = 240

BURN = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


@contextmanager
def machine_loaded(seconds: float = LOAD_SECONDS) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One CPU-burning process per core, for at most ``seconds``; stopped (by pid) on the way
    out."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURN.format(seconds=seconds)])
        for _ in range(os.cpu_count() or 2)
    ]
    try:
        yield burners
    finally:
        for burner in burners:
            burner.kill()
            burner.wait(timeout=30)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("pair-lab")
    # ZVMs deployed and licensed, not paired; the source's pairing task slowed so that the two
    # runs pair at the same moment.
    started = start_lab(directory, deployed=True)
    started.admin("source", "/lab/faults", {"task_seconds": {"pair": PAIR_SECONDS}})
    try:
        yield started
    finally:
        manager.down(directory)


def pairing_interval(run: Run) -> tuple[datetime, datetime]:
    """When the source's pairing task of a run started and ended (its last result: the first
    is preflight's plan in check mode)."""
    found = []
    for path in (Path(run.json()["artifact_dir"]) / "job_events").glob("*.json"):
        event = json.loads(path.read_text())
        data = event.get("event_data", {})
        title = f"{data.get('role')} : {data.get('task')}"
        if event["event"] == "runner_on_ok" and data.get("host") == "source" and title == PAIR_TASK:
            found.append((event["counter"], data["start"], data["end"]))
    assert found, "no pairing result in the run's events"
    _, start, end = max(found)
    return datetime.fromisoformat(start), datetime.fromisoformat(end)


def test_two_pair_commands_at_once_on_a_loaded_machine_both_succeed(vmrepl: Cli, lab: Lab) -> None:
    with machine_loaded():
        processes = [vmrepl.popen("pair", "-o", "json", "-q") for _ in range(2)]
        outputs = [p.communicate(timeout=600) for p in processes]
    runs = [Run(p.returncode, *out) for p, out in zip(processes, outputs, strict=True)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.json()["status"] == "successful"
    changed = [run for run in runs if any(c["task"] == PAIR_TASK for c in run.json()["changes"])]
    assert len(changed) == 1, [run.json()["changes"] for run in runs]
    # The two pairings really ran at the same time (the race this test is about).
    (a_start, a_end), (b_start, b_end) = (pairing_interval(run) for run in runs)
    assert a_start < b_end and b_start < a_end
    for site in ("source", "target"):
        with lab.zvm(site) as zvm:
            peers = zvm.peer_sites()
            assert [json_field(p, "PairingStatus") for p in peers] == [0], peers  # one, paired
            # Neither run undid the other's pairing as "half done".
            assert zvm.tasks("UnpairSites") == []
            assert len(zvm.tasks("PairSites")) == (1 if site == "source" else 0)

    again = vmrepl("pair", "-o", "json", "-q")
    assert again.returncode == 0 and again.json()["changes"] == []
