"""Two pipelines pair the same site pair at the same moment: one pairs, the other finds it
paired (or pairing); neither fails, and each ZVM lists one peer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from ansible_collections.vmrepl.core.plugins.module_utils.zvm import field
from tests.cli.conftest import Cli, Run
from tests.deploy.conftest import Lab
from vmrepl.lab import manager

pytestmark = pytest.mark.lab

PAIR_TASK = "pairing : Pair the source site with the target site"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    directory = tmp_path_factory.mktemp("pair-lab")
    # Fresh (not paired), with ZVM tasks slow enough that both runs pair at the same moment.
    state, _ = manager.up(
        manager.LabSpec(task_seconds=4.0, deployed=True, boot_seconds=1.0), directory
    )
    try:
        yield Lab(directory, state)
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


def test_two_pair_commands_at_once_pair_once(vmrepl: Cli, lab: Lab) -> None:
    processes = [vmrepl.popen("pair", "-o", "json", "-q") for _ in range(2)]
    runs = [Run(p.returncode, *p.communicate(timeout=300)) for p in processes]
    runs = [Run(p.returncode, r.stdout, r.stderr) for p, r in zip(processes, runs, strict=True)]
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
            assert [field(p, "PairingStatus") for p in peers] == [0], peers  # one, paired

    again = vmrepl("pair", "-o", "json", "-q")
    assert again.returncode == 0 and again.json()["changes"] == []
