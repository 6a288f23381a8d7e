"""`vmrepl lab up / status / down` as a user runs them: real processes, real sockets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.lab.helpers import Zvm
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
    assert "Lab up (remote, bare)" in up.stdout
    try:
        status = vmrepl(lab_dir, "status", "--output", "json")
        assert status.returncode == 0, status.stderr
        doc = json.loads(status.stdout)
        assert doc["running"] is True and doc["deployed"] is False
        assert [s["name"] for s in doc["sites"]] == ["source", "target"]
        for site in doc["sites"]:
            vc, zvm = site["vcenter"], site["zvm"]
            assert set(vc) >= {"host", "port", "username", "password", "ca_file"}
            assert set(zvm) >= {
                "url",
                "username",
                "password",
                "ca_file",
                "site_identifier",
                "pairing_port",
                "license_key",
                "answering",
            }
            assert vc["host"] == "127.0.0.1" and reachable(vc["host"], vc["port"])
            assert zvm["url"].startswith("https://127.0.0.1:")
            # bare: no appliance, so the ZVM's ports refuse connections
            assert zvm["answering"] is False
            assert not reachable("127.0.0.1", int(zvm["url"].rsplit(":", 1)[1]))
            assert not reachable("127.0.0.1", zvm["pairing_port"])
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


def test_local_edition_deployed_has_one_licensed_zvm(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    up = vmrepl(
        lab_dir, "up", "--edition", "local", "--deployed", "--boot-seconds", "0.5", "-o", "json"
    )
    try:
        assert up.returncode == 0, up.stderr
        doc = json.loads(up.stdout)
        assert doc["deployed"] is True
        [site] = doc["sites"]
        assert site["name"] == "local"
        zvm = site["zvm"]
        assert zvm["answering"] is True
        client = Zvm(
            zvm["url"],
            Path(zvm["ca_file"]),
            zvm["username"],
            zvm["password"],
            zvm["site_identifier"],
        )
        assert client.get("/v1/license")["Details"]["LicenseKey"] == zvm["license_key"]
        assert client.get("/v1/vras") == [] and client.get("/v1/peersites") == []
        names = {vm["VmName"] for vm in client.inventory("vms")}
        assert "zvm-local" in names  # the appliance VM the lab deployed
    finally:
        vmrepl(lab_dir, "down")


def _pids_mentioning(text: str) -> list[int]:
    """Processes whose command line mentions ``text`` (the lab dir: its certificates, logs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmdline:
                found.append(int(entry.name))
    return found


def test_two_ups_at_once_start_one_lab(tmp_path: Path) -> None:
    lab_dir = tmp_path / "lab"
    env = {**os.environ, "VMREPL_LAB_DIR": str(lab_dir)}
    argv = [*VMREPL, "lab", "up", "--edition", "local", "--hosts", "1", "--vms", "0", "-o", "json"]
    runs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        outputs = [run.communicate(timeout=120) for run in runs]
        assert all(run.returncode == 0 for run in runs), outputs
        docs = [json.loads(out) for out, _ in outputs]
        assert docs[0]["sites"] == docs[1]["sites"]  # the same lab, the same ports
        state = json.loads((lab_dir / "state.json").read_text())
        pids = [state["sites"][0][part]["pid"] for part in ("vcenter", "zvm")]
        processes = [pid for pid in _pids_mentioning(str(lab_dir)) if pid != os.getpid()]
        assert len(processes) == len(pids), processes  # one set: one vcsim, one ZVM
    finally:
        down = vmrepl(lab_dir, "down")
    assert "2 processes stopped" in down.stdout


def test_bad_input_is_refused_with_the_option(tmp_path: Path) -> None:
    result = vmrepl(tmp_path / "lab", "up", "--hosts", "0")
    assert result.returncode == 2
    assert "--hosts" in result.stderr
    assert not (tmp_path / "lab" / "state.json").exists()
