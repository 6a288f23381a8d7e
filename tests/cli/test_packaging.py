"""The collection as Galaxy and Automation Platform get it: `ansible-galaxy collection build`
leaves the repository's tests, lab and Python package out; the installed artifact runs
deploy_remote by its full name; `ansible-builder create` makes the execution environment's
build context."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from tests.deploy.conftest import Lab
from vmrepl.paths import CHECKOUT as REPO_ROOT

BIN = Path(sys.executable).parent
VERSION = yaml.safe_load((REPO_ROOT / "galaxy.yml").read_text())["version"]
LEFT_OUT = {
    "tests", "lab", "src", "env", ".venv", ".cache", ".lab", ".git", "collections", "molecule",
    "benchmarks", "examples", "scripts", "inventories", "artifacts", "reports", "pyproject.toml",
    "Makefile", "project", "execution-environment.yml",
}  # fmt: skip


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env or os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("galaxy") / "dist" / "collection"
    run(
        BIN / "ansible-galaxy",
        "collection",
        "build",
        "--output-path",
        out,
        REPO_ROOT,
        cwd=REPO_ROOT,
    )
    built = out / f"vmrepl-core-{VERSION}.tar.gz"
    assert built.is_file()
    return built


def test_the_artifact_holds_the_collection_only(artifact: Path) -> None:
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    top = {name.split("/")[0] for name in names}
    assert not top & LEFT_OUT, top & LEFT_OUT
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # The ansible-runner entry points of the repository root are not the collection's.
    assert not [n for n in names if "/" not in n and n.endswith(".yml")]
    for wanted in (
        "MANIFEST.json",
        "meta/runtime.yml",
        "meta/execution-environment.yml",
        "requirements.txt",
        "playbooks/deploy_remote.yml",
        "playbooks/vars/connections.yml",
        "roles/preflight/meta/argument_specs.yml",
        "plugins/modules/zvm_info.py",
        "plugins/module_utils/clients/zvm.py",
    ):
        assert wanted in names


def install(artifact: Path, target: Path) -> dict[str, str]:
    """Install the artifact into ``target``; the environment that uses it and nothing else."""
    target.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VMREPL_"))}
    env |= {
        "PATH": os.pathsep.join([str(BIN), env.get("PATH", "")]),
        "ANSIBLE_COLLECTIONS_PATH": str(target),
        # Not the repository's copy (importable from this environment's sys.path).
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
    }
    run(
        BIN / "ansible-galaxy", "collection", "install", artifact, "-p", target, cwd=target, env=env
    )
    assert (target / "ansible_collections" / "vmrepl" / "core" / "MANIFEST.json").is_file()
    return env


def test_the_installed_artifact_runs_playbooks_by_full_name(artifact: Path, tmp_path: Path) -> None:
    env = install(artifact, tmp_path)
    for playbook in (
        "deploy_remote",
        "deploy_local",
        "pair_sites",
        "health",
        "failover_test",
        "vpg",
    ):
        run(
            BIN / "ansible-playbook", f"vmrepl.core.{playbook}", "--syntax-check",
            "-i", "localhost,", cwd=tmp_path, env=env,
        )  # fmt: skip
    doc = run(BIN / "ansible-doc", "vmrepl.core.zvm_info", cwd=tmp_path, env=env)
    assert str(tmp_path / "ansible_collections" / "vmrepl" / "core") in doc


def plain_inventory(lab: Lab, inventory: Path) -> Path:
    """The lab's sites as a plain inventory (the lab's inventory plugin is not part of the
    collection)."""
    shutil.copytree(REPO_ROOT / "inventories" / "lab" / "group_vars", inventory / "group_vars")
    shutil.copytree(REPO_ROOT / "inventories" / "lab" / "host_vars", inventory / "host_vars")
    from vmrepl.lab import manager

    sites = {}
    for site in lab.state["sites"]:
        vc, zvm = site["vcenter"], site["zvm"]
        sites[site["name"]] = {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "vmrepl_site_role": site["name"],
            "vmrepl_vcenter_hostname": vc["host"],
            "vmrepl_vcenter_port": vc["port"],
            "vmrepl_vcenter_username": vc["username"],
            "vmrepl_vcenter_password": vc["password"],
            "vmrepl_vcenter_ca_file": vc["ca_file"],
            "vmrepl_zvm_url": zvm["url"],
            "vmrepl_zvm_username": zvm["username"],
            "vmrepl_zvm_password": zvm["password"],
            "vmrepl_zvm_ca_file": zvm["ca_file"],
            "vmrepl_zvm_license_key": zvm["license_key"],
        }
    hosts = {
        "all": {
            "children": {
                "vmrepl_sites": {
                    "vars": {
                        "vmrepl_edition": "remote",
                        "vmrepl_lab_appliance_ovf": str(manager.APPLIANCE_OVF),
                        "pairing_port": lab.site("target")["zvm"]["pairing_port"],
                    },
                    "hosts": sites,
                }
            }
        }
    }
    (inventory / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (inventory / "hosts.yml").chmod(0o600)
    return inventory


@pytest.mark.lab
def test_the_installed_artifact_deploys_on_the_lab_in_check_mode(
    artifact: Path, lab: Lab, tmp_path: Path
) -> None:
    """deploy_remote of the installed collection against the lab, through a plain inventory
    (the lab's inventory plugin is not part of the collection)."""
    env = install(artifact, tmp_path / "collections")
    inventory = plain_inventory(lab, tmp_path / "inventory")
    out = run(
        BIN / "ansible-playbook", "vmrepl.core.deploy_remote", "--check",
        "-i", inventory, cwd=tmp_path, env=env | {"VMREPL_REPORT_DIR": str(tmp_path / "reports")},
    )  # fmt: skip
    recap = out[out.index("PLAY RECAP") :]
    assert "failed=0" in recap and "unreachable=0" in recap
    assert "source" in recap and "target" in recap


@pytest.mark.lab
def test_the_installed_collection_keeps_its_evidence_outside_itself(
    artifact: Path, lab: Lab, tmp_path: Path
) -> None:
    """A refused failover test of the installed collection, with no VMREPL_REPORT_DIR: the
    report and the audit line go to the user's state folder, never into the collection (an
    execution environment throws that away)."""
    home = tmp_path / "home"
    home.mkdir()
    env = install(artifact, tmp_path / "collections") | {"HOME": str(home)}
    for name in ("VMREPL_REPORT_DIR", "VMREPL_AUDIT_LOG", "XDG_STATE_HOME"):
        env.pop(name, None)
    inventory = plain_inventory(lab, tmp_path / "inventory")
    done = subprocess.run(
        [BIN / "ansible-playbook", "vmrepl.core.failover_test", "-i", inventory],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode != 0, done.stdout[-2000:]  # refused: no request reference
    state = home / ".local" / "state" / "vmrepl"
    [report] = (state / "reports").glob("failover_test-*.json")
    assert json.loads(report.read_text())["result"] == "refused"
    [line] = (state / "audit.jsonl").read_text().splitlines()
    assert json.loads(line)["result"].startswith("refused")
    installed = tmp_path / "collections" / "ansible_collections" / "vmrepl" / "core"
    assert not list(installed.rglob("*.jsonl")) and not (installed / "reports").exists()


def test_ansible_builder_creates_the_build_context(artifact: Path, tmp_path: Path) -> None:
    """What CI checks (no image is built): the definition is valid and takes the collection."""
    shutil.copy(REPO_ROOT / "execution-environment.yml", tmp_path)
    shutil.copytree(artifact.parent, tmp_path / "dist" / "collection")
    run(
        BIN / "ansible-builder", "create", "-f", "execution-environment.yml",
        "-c", "context", "--output-filename", "Containerfile", cwd=tmp_path,
    )  # fmt: skip
    context = tmp_path / "context"
    assert (context / "_build" / "collections" / artifact.name).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"][0]["type"] == "file"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile  # the collection's requirements.txt, by introspection
