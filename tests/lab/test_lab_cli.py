"""`vmrepl lab up / status / down` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from vmrepl.lab import process

pytestmark = pytest.mark.lab

VMREPL = [sys.executable, "-m", "vmrepl.cli"]


def vmrepl(lab_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VMREPL_LAB_DIR": str(lab_dir)}
    return subprocess.run(
        [*VMREPL, "lab", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def reachable(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def test_up_status_down(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    up = vmrepl(lab_dir, "up", "--hosts", "3", "--vms", "1")
    assert up.returncode == 0, up.stderr
    assert "Lab up (remote)" in up.stdout
    try:
        status = vmrepl(lab_dir, "status", "--output", "json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["running"] is True
        assert [s["name"] for s in doc["sites"]] == ["source", "target"]
        for site in doc["sites"]:
            vc, zvm = site["vcenter"], site["zvm"]
            assert set(vc) >= {"host", "port", "username", "password", "ca_file"}
            assert set(zvm) >= {"url", "username", "password"}
            assert vc["host"] == "127.0.0.1" and reachable(vc["host"], vc["port"])
            assert zvm["url"].startswith("https://127.0.0.1:")
            assert Path(vc["ca_file"]).exists()
        state = json.loads((lab_dir / "state.json").read_text())
        assert oct((lab_dir / "state.json").stat().st_mode & 0o777) == "0o600"  # holds passwords
        pids = [site[part]["pid"] for site in state["sites"] for part in ("vcenter", "zvm")]
        assert len(pids) == 4 and all(process.alive(pid) for pid in pids)

        again = vmrepl(lab_dir, "up")
        assert again.returncode == 0 and "already up" in again.stdout
        other = vmrepl(lab_dir, "up", "--edition", "local")
        assert other.returncode == 2 and "lab down" in other.stderr
    finally:
        down = vmrepl(lab_dir, "down")
    assert down.returncode == 0 and "4 processes stopped" in down.stdout
    assert not any(process.alive(pid) for pid in pids)
    for site in doc["sites"]:
        assert not reachable(site["vcenter"]["host"], site["vcenter"]["port"])
    gone = vmrepl(lab_dir, "status")
    assert gone.returncode == 3 and "not up" in gone.stdout


def test_local_edition_has_one_site(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    up = vmrepl(lab_dir, "up", "--edition", "local", "--output", "json")
    try:
        assert up.returncode == 0, up.stderr
        assert [s["name"] for s in json.loads(up.stdout)["sites"]] == ["local"]
    finally:
        vmrepl(lab_dir, "down")


def test_bad_input_is_refused_with_the_option(tmp_path: Path) -> None:
    result = vmrepl(tmp_path / "lab", "up", "--hosts", "0")
    assert result.returncode == 2
    assert "--hosts" in result.stderr
    assert not (tmp_path / "lab" / "state.json").exists()
