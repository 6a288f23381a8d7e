"""A real `ansible-runner run .` of a quick playbook with the project's env/ settings: the
passwords of the environment, of `--cmdline -e` and inside URLs do not reach
artifacts/<id>/command (the callback env/envvars loads masks them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
RUNNER = Path(sys.executable).parent / "ansible-runner"
PLAYBOOK = """\
- name: Quick
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say hello
      ansible.builtin.debug:
        msg: hello
"""


@pytest.mark.skipif(not RUNNER.exists(), reason="ansible-runner is not installed")
def test_plain_ansible_runner_run_keeps_passwords_out_of_the_command_file(tmp_path: Path) -> None:
    (tmp_path / "env").symlink_to(ROOT / "env")  # the project's env/ as it is
    (tmp_path / "project").mkdir()  # the runner project's folder, as in the checkout
    (tmp_path / "project" / "quick.yml").write_text(PLAYBOOK)
    env = {
        **os.environ,
        "PATH": f"{RUNNER.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "ZVM_PASSWORD": "env-secret-1",
        "VMWARE_PASSWORD": "env-secret-2",
        "PEER_ZVM_URL": "https://admin:url-secret-3@zvm.example:443/",
    }
    env.pop("ANSIBLE_CALLBACK_PLUGINS", None)
    cmdline = (
        "-e zvm_password=cmd-secret-4 -e vault_pw=cmd-secret-5 "
        '-e \'{"peer_zvm_password": "cmd-secret-6"}\' -e url=https://u:cmd-secret-7@h/'
    )
    done = subprocess.run(
        [
            str(RUNNER),
            "run",
            str(tmp_path),
            "-p",
            "quick.yml",
            "-i",
            "localhost,",
            "--ident",
            "quick",
            "--cmdline",
            cmdline,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    artifacts = tmp_path / "artifacts" / "quick"
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:])
    text = (artifacts / "command").read_text()
    for n in range(1, 8):
        assert f"secret-{n}" not in text, n
    doc = json.loads(text)
    assert doc["env"]["ZVM_PASSWORD"] == "********"
    assert doc["env"]["PEER_ZVM_URL"] == "https://admin:********@zvm.example:443/"
    assert "zvm_password=********" in doc["command"]
    assert "quick.yml" in doc["command"]  # the rest of the record is kept
    # nothing of env/ was written by the run (its files keep every option to the run)
    assert (ROOT / "env" / "cmdline").read_text().strip() in ("", "{}")
    shutil.rmtree(artifacts, ignore_errors=True)
