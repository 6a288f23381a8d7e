"""The README's first deployment of a real site pair, run as written: copy the example
inventory, replace its vault files with one's own, run deploy_remote.yml with the vault
password file. There is no real site pair here, so the run must get past the vault (every
required input found) and stop at the first thing this machine lacks - the example's CA file -
naming the variable."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vmrepl.paths import CHECKOUT as REPO_ROOT

pytestmark = pytest.mark.lab

VAULT_CONTENT = (
    "vault_vcenter_password: readme-vcenter-secret\n"
    "vault_zvm_password: readme-zvm-secret\n"
    "vault_zvm_license_key: README-LICENCE-KEY-0001\n"
)


def readme_commands() -> list[str]:
    """The shell commands of the README's section 'A real site pair'."""
    text = (REPO_ROOT / "README.md").read_text()
    section = text.split("## A real site pair", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the section shows its commands in a sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def copy_of_repository(destination: Path) -> Path:
    """The tracked files as they are in the working tree (links kept), nothing generated."""
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        source, target = REPO_ROOT / name, destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(os.readlink(source))
        elif source.exists():
            shutil.copy2(source, target)
    return destination


def run_in_terminal(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """As a person runs it at a terminal (ansible-vault create opens the editor only there)."""
    terminal, device = pty.openpty()
    try:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=cwd,
            env=env,
            stdin=device,
            stdout=device,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
        os.set_blocking(terminal, False)
        try:
            printed = os.read(terminal, 65536).decode(errors="replace")
        except BlockingIOError:
            printed = ""
    finally:
        os.close(device)
        os.close(terminal)
    return subprocess.CompletedProcess(done.args, done.returncode, printed, done.stderr)


def test_the_readme_first_deployment_runs_as_written(tmp_path: Path) -> None:
    commands = readme_commands()
    assert commands[0] == "cp -r inventories/example inventories/cust-123456"
    assert any(c.startswith("ansible-vault create") for c in commands)
    assert commands[-1].startswith("ansible-runner run . -p deploy_remote.yml")

    project = copy_of_repository(tmp_path / "checkout")
    home = tmp_path / "home"
    (home / ".config" / "vmrepl").mkdir(parents=True)
    (home / ".config" / "vmrepl" / "vault-pass").write_text("readme-vault-password\n")
    # ansible-vault create opens $EDITOR on the new file: this one types the secrets in.
    editor = tmp_path / "editor"
    editor.write_text(f"#!/bin/sh\ncat > \"$1\" <<'EOF'\n{VAULT_CONTENT}EOF\n")
    editor.chmod(0o755)
    env = {
        **os.environ,
        "HOME": str(home),
        "EDITOR": str(editor),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        "ANSIBLE_CONFIG": str(project / "project" / "ansible.cfg"),
    }
    env.pop("VMREPL_LAB_DIR", None)
    runs = []
    for command in commands:
        runs.append(
            run_in_terminal(command, project, env)
            if "vault create" in command
            else subprocess.run(
                ["bash", "-c", command],
                cwd=project,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        )
        done = runs[-1]
        if command is not commands[-1]:
            assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-2000:])

    for site in ("source", "target"):
        vault = project / "inventories" / "cust-123456" / "host_vars" / site / "vault.yml"
        assert vault.read_text().startswith("$ANSIBLE_VAULT;")
        assert "readme-zvm-secret" not in vault.read_text()
    deploy = runs[-1]
    output = deploy.stdout + deploy.stderr
    assert deploy.returncode != 0  # there is no vcenter.dc1.example.net here
    assert "vmrepl_vcenter_ca_file of source names /etc/pki/vmrepl/dc1-ca.pem" in output, output[
        -3000:
    ]
    assert "Decryption failed" not in output and "no vault secrets" not in output, output[-3000:]
    assert "is required by the deployment" not in output, output[-3000:]
    leaked = [p for p in project.rglob("artifacts/**/*") if p.is_file()]
    for path in leaked:
        text = path.read_text(errors="replace")
        for secret in ("readme-vcenter-secret", "readme-zvm-secret", "README-LICENCE-KEY-0001"):
            assert secret not in text, path
