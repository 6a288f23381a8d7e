"""``vmrepl exporter`` reads the inventory again on SIGHUP, in its own process: a site gone is
gone from the next scrape; an inventory that cannot be read leaves the sites read before.
The example inventory (its ZVMs do not exist: vmrepl_zvm_up 0), no lab."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import urllib.request
from pathlib import Path

from tests.cli.conftest import VMREPL
from tests.operate.conftest import wait_for
from vmrepl.paths import CHECKOUT as REPO_ROOT

VAULT_PASSWORD = "example-only-vault-password"


def _up_sites(url: str) -> set[str]:
    with urllib.request.urlopen(url, timeout=60) as answer:
        text = answer.read().decode()
    return set(re.findall(r'^vmrepl_zvm_up\{site="([^"]+)"\}', text, re.MULTILINE))


def test_sighup_reloads_the_inventory(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(REPO_ROOT / "inventories" / "example", inventory)
    log = tmp_path / "exporter.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VMREPL_", "ZVM_"))}
    env["VMREPL_VAULT_PASSWORD"] = VAULT_PASSWORD
    with log.open("w") as err:
        process = subprocess.Popen(
            [VMREPL, "exporter", "-i", str(inventory), "--listen", "127.0.0.1:0"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        serving = wait_for(lambda: re.search(r"serving (http://\S+/metrics)", log.read_text()))
        url = serving.group(1)
        assert _up_sites(url) == {"source", "target"}

        hosts = inventory / "hosts.yml"
        hosts.write_text(hosts.read_text().replace("        target:\n", ""))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "reloaded the inventory: serving source" in log.read_text())
        assert _up_sites(url) == {"source"}

        hosts.write_text("vmrepl_sites:\n  hosts: {}\n")  # no site: refused, source stays
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused, still serving source" in log.read_text())
        assert _up_sites(url) == {"source"}
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    text = log.read_text()
    assert VAULT_PASSWORD not in text
    assert "Traceback" not in text, text
