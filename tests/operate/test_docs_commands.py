"""Every sh block of docs/monitoring.md, run as written: the lab's exporter (its own lab, in a
directory of the test's own), the example inventory's exporter, the promtool and amtool checks.
A line that starts a server (``vmrepl exporter``) runs in the background until the block's
other lines have run, then gets SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from vmrepl.lab import manager
from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

DOC = REPO_ROOT / "docs" / "monitoring.md"


def blocks() -> list[list[str]]:
    text = DOC.read_text()
    return [
        [line for line in m.group(1).splitlines() if line.strip()]
        for m in re.finditer(r"```sh\n(.*?)```", text, re.S)
    ]


def block(first: str) -> list[str]:
    [found] = [b for b in blocks() if b[0].startswith(first)]
    return found


class Shell:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env

    def run(self, line: str) -> str:
        done = subprocess.run(
            ["bash", "-ec", line],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def server(self, line: str, log: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["bash", "-ec", f"exec {line}"],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        deadline = time.monotonic() + 120
        while "serving http://" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        return process


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=30)


@pytest.fixture
def shell(tmp_path: Path) -> Shell:
    for name in ("inventories", "monitoring"):
        (tmp_path / name).symlink_to(REPO_ROOT / name)
    env = {k: v for k, v in os.environ.items() if k != "ANSIBLE_CONFIG"}
    env["PATH"] = os.pathsep.join([str(REPO_ROOT / ".venv" / "bin"), env.get("PATH", "")])
    env["VMREPL_LAB_DIR"] = str(tmp_path / "lab")
    return Shell(tmp_path, env)


def test_every_block_is_run_here() -> None:
    firsts = [b[0] for b in blocks()]
    assert firsts == [
        "vmrepl lab up --deployed",
        "curl -s http://127.0.0.1:9810/metrics | grep '^vmrepl_zvm_up'",
        "printf '%s\\n' example-only-vault-password > example-vault-pass",
        "promtool check config monitoring/prometheus.example.yml",
    ]


def test_the_lab_blocks(shell: Shell, tmp_path: Path) -> None:
    up, serve = block("vmrepl lab up --deployed")
    try:
        shell.run(up)
        exporter = shell.server(serve, tmp_path / "exporter.log")
        try:
            first, second, down = block("curl -s http://127.0.0.1:9810/metrics")
            out = shell.run(first)
            assert 'vmrepl_zvm_up{site="source"} 1.0' in out
            assert 'vmrepl_zvm_up{site="target"} 1.0' in out
            out = shell.run(second)
            assert out.strip() == 'vmrepl_license_installed{site="source"} 1.0'
            shell.run(down)
            assert manager.read_state(tmp_path / "lab") is None or not manager.is_running(
                manager.read_state(tmp_path / "lab")
            )
            # the lab is gone: the next scrape says so
            with urllib.request.urlopen("http://127.0.0.1:9810/metrics", timeout=30) as r:
                text = r.read().decode()
            assert 'vmrepl_zvm_up{site="source"} 0.0' in text
            samples = [line for line in text.splitlines() if not line.startswith("#")]
            assert not [line for line in samples if line.startswith("vmrepl_vpg")]
            assert not [line for line in samples if line.startswith("vmrepl_license")]
        finally:
            assert stop(exporter) == 0
    finally:
        manager.down(tmp_path / "lab")


def test_the_real_inventory_block(shell: Shell, tmp_path: Path) -> None:
    write, serve = block("printf '%s\\n' example-only-vault-password")
    shell.run(write)
    exporter = shell.server(serve, tmp_path / "exporter.log")
    try:
        with urllib.request.urlopen("http://127.0.0.1:9811/metrics", timeout=60) as r:
            text = r.read().decode()
    finally:
        assert stop(exporter) == 0
    assert 'vmrepl_zvm_up{site="source"} 0.0' in text
    assert 'vmrepl_zvm_up{site="target"} 0.0' in text
    log = (tmp_path / "exporter.log").read_text()
    assert "site source: the ZVM could not be read" in log
    assert "example-only-vault-password" not in log


def test_the_check_block(shell: Shell) -> None:
    if not all(
        subprocess.run(["which", tool], capture_output=True, check=False).returncode == 0
        for tool in ("promtool", "amtool")
    ):
        pytest.skip("Debian's prometheus and prometheus-alertmanager: run scripts/setup.sh")
    for line in block("promtool check config"):
        assert "SUCCESS" in shell.run(line) or line.startswith("amtool")
