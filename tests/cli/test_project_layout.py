"""The house: the collection at the root, the runner project in project/, the Python package
free of the checkout (docs/layout.md).

- project/ansible.cfg takes its paths from its own folder (../collections, ../inventories/lab),
  whatever the working directory, and molecule, scripts/test.sh and the Makefile point at it;
- a playbook of the collection runs by its full name through ansible-runner from an empty private
  data dir (navigator's way: no project/, no env/);
- the vmrepl command runs that way too: nothing is written into the checkout (no env/ options,
  no artifacts/), its artifacts and reports go where it documents;
- vmrepl.paths finds the collection, and says so when VMREPL_PROJECT_DIR names something else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cli import test_packaging as packaging
from tests.cli.conftest import VMREPL, Cli
from tests.deploy.conftest import Lab
from vmrepl import paths
from vmrepl.paths import CHECKOUT as REPO_ROOT

BIN = Path(sys.executable).parent
CONFIG = REPO_ROOT / "project" / "ansible.cfg"


def config_dump(cwd: Path, env: dict[str, str]) -> dict[str, object]:
    """``ansible-config dump`` as JSON: {setting name: value}."""
    done = subprocess.run(
        [str(BIN / "ansible-config"), "dump", "--format", "json"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {item["name"]: item["value"] for item in json.loads(done.stdout) if "name" in item}


def plain_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_COLLECTIONS_PATH")}
    env.pop("ANSIBLE_CONFIG", None)
    return {**env, **extra}


def test_project_ansible_cfg_takes_its_paths_from_its_own_folder(tmp_path: Path) -> None:
    """Relative paths of project/ansible.cfg are the checkout's folders, run from anywhere."""
    settings = config_dump(tmp_path, plain_env(ANSIBLE_CONFIG=str(CONFIG)))
    assert settings["CONFIG_FILE"] == str(CONFIG)
    assert settings["COLLECTIONS_PATHS"] == [str(REPO_ROOT / "collections")]
    assert settings["DEFAULT_HOST_LIST"] == [str(REPO_ROOT / "inventories" / "lab")]
    assert settings["DEFAULT_ROLES_PATH"] == [str(REPO_ROOT / "roles")]
    # and ../collections holds the collection (the link to the root)
    core = REPO_ROOT / "collections" / "ansible_collections" / "vmrepl" / "core"
    assert (core / "galaxy.yml").resolve() == (REPO_ROOT / "galaxy.yml").resolve()
    # ansible-runner's working directory is project/: Ansible finds the file there unasked.
    found = config_dump(REPO_ROOT / "project", plain_env())
    assert found["CONFIG_FILE"] == str(CONFIG)
    assert found["COLLECTIONS_PATHS"] == [str(REPO_ROOT / "collections")]


def test_the_root_holds_no_runner_entry_point_and_each_is_a_collection_playbook() -> None:
    assert sorted(p.name for p in REPO_ROOT.glob("*.yml")) == [
        "execution-environment.yml",
        "galaxy.yml",
    ]
    assert not (REPO_ROOT / "ansible.cfg").exists()
    entries = sorted((REPO_ROOT / "project").glob("*.yml"))
    assert len(entries) == 14
    for entry in entries:
        [play] = yaml.safe_load(entry.read_text())
        assert play["ansible.builtin.import_playbook"] == f"vmrepl.core.{entry.stem}", entry
        assert (REPO_ROOT / "playbooks" / entry.name).is_file(), entry
        assert paths.playbook_file(entry.name) == REPO_ROOT / "playbooks" / entry.name


@pytest.mark.parametrize("scenario", ["remote", "local"])
def test_molecule_uses_the_runner_projects_ansible_cfg(scenario: str, tmp_path: Path) -> None:
    """molecule.yml's ANSIBLE_CONFIG, as molecule expands it, is project/ansible.cfg, and with it
    Ansible finds the checkout's collections from the scenario's folder."""
    doc = yaml.safe_load((REPO_ROOT / "molecule" / scenario / "molecule.yml").read_text())
    value = doc["ansible"]["env"]["ANSIBLE_CONFIG"]
    assert value == "${MOLECULE_PROJECT_DIRECTORY}/project/ansible.cfg"
    config = Path(value.replace("${MOLECULE_PROJECT_DIRECTORY}", str(REPO_ROOT)))
    assert config == CONFIG and config.is_file()
    settings = config_dump(REPO_ROOT / "molecule" / scenario, plain_env(ANSIBLE_CONFIG=str(config)))
    assert settings["COLLECTIONS_PATHS"] == [str(REPO_ROOT / "collections")]


def test_scripts_and_make_point_ansible_at_project_ansible_cfg() -> None:
    assert (
        'export ANSIBLE_CONFIG="$PWD/project/ansible.cfg"'
        in (REPO_ROOT / "scripts" / "test.sh").read_text()
    )
    assert (
        "export ANSIBLE_CONFIG := $(CURDIR)/project/ansible.cfg"
        in (REPO_ROOT / "Makefile").read_text()
    )


@pytest.mark.lab
def test_a_full_name_playbook_runs_through_ansible_runner(lab: Lab, tmp_path: Path) -> None:
    """An empty private data dir (no project/, no env/): ansible-runner hands the full name to
    ansible-playbook, which takes the collection's playbook from ../collections."""
    private = tmp_path / "private"
    private.mkdir()
    env = plain_env(
        ANSIBLE_CONFIG=str(CONFIG),
        VMREPL_LAB_DIR=str(lab.directory),
        PATH=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
    )
    env.pop("VMREPL_REPORT_DIR", None)
    done = subprocess.run(
        [
            str(BIN / "ansible-runner"),
            "run",
            str(private),
            "-p",
            "vmrepl.core.deploy_remote",
            "--ident",
            "full-name",
            "--cmdline=--check",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    run = private / "artifacts" / "full-name"
    command = json.loads((run / "command").read_text())
    assert command["command"][-1] == "vmrepl.core.deploy_remote"
    events = [json.loads(p.read_text()) for p in (run / "job_events").glob("*.json")]
    [start] = [e for e in events if e["event"] == "playbook_on_start"]
    # ansible-playbook found it through project/ansible.cfg's ../collections
    collection = REPO_ROOT / "collections" / "ansible_collections" / "vmrepl" / "core"
    assert start["event_data"]["playbook"] == str(collection / "playbooks" / "deploy_remote.yml")
    paths_of_tasks = {
        e["event_data"].get("task_path", "").split(":")[0]
        for e in events
        if e["event"] == "runner_on_ok"
    }
    assert any(p.startswith(str(collection / "roles")) for p in paths_of_tasks), paths_of_tasks
    [stats] = [e["event_data"] for e in events if e["event"] == "playbook_on_stats"]
    assert set(stats["ok"]) == {"source", "target"}
    assert (stats["failures"], stats["dark"]) == ({}, {})


def checkout_listing() -> dict[str, str]:
    """What a run could write into the checkout: its top-level names, env/ (each file's text)
    and artifacts/ (each run folder)."""
    listing = {name.name: "" for name in REPO_ROOT.iterdir()}
    for file in (REPO_ROOT / "env").rglob("*"):
        if file.is_file() and "__pycache__" not in file.parts:
            listing[f"env/{file.relative_to(REPO_ROOT / 'env')}"] = file.read_text()
    for run in (REPO_ROOT / "artifacts").glob("*"):
        listing[f"artifacts/{run.name}"] = ""
    return listing


@pytest.mark.lab
def test_the_command_writes_nothing_into_the_checkout(vmrepl: Cli, tmp_path: Path) -> None:
    """`vmrepl deploy` with no artifact or report directory given: its run folder, command
    file and reports are under $XDG_STATE_HOME/vmrepl/artifacts, its private data dir is gone,
    and the checkout has no new file: no env/ options, no artifacts/."""
    state = tmp_path / "state"
    env = {"XDG_STATE_HOME": str(state), "VMREPL_AUDIT_LOG": str(tmp_path / "audit.jsonl")}
    for name in ("VMREPL_ARTIFACT_DIR", "VMREPL_REPORT_DIR", "ANSIBLE_CONFIG"):
        vmrepl.env.pop(name, None)
    before = checkout_listing()
    run = vmrepl("deploy", "--check", "-q", "-o", "json", "-e", "layout_probe=1", env=env)
    after = checkout_listing()
    assert run.returncode == 0, run.stdout + run.stderr
    doc = run.json()
    assert doc["playbook"] == "deploy_remote.yml" and doc["status"] == "successful"
    run_dir = Path(doc["artifact_dir"])
    assert run_dir.parent == state / "vmrepl" / "artifacts"
    # Nothing new in the checkout (other tests' runs of `ansible-runner run .` may add their
    # own artifacts/<id> meanwhile: none of them is this run's).
    added = {k for k in after if k not in before}
    assert {k for k in added if not k.startswith(("artifacts/", "."))} == set(), added
    assert run_dir.name not in {k.split("/", 1)[-1] for k in added}
    assert {k: v for k, v in after.items() if k.startswith("env/")} == {
        k: v for k, v in before.items() if k.startswith("env/")
    }
    # The run: ansible-playbook got the full name, in the checkout's root as its working
    # directory, with project/ansible.cfg; its extra vars came from the private data dir.
    command = json.loads((run_dir / "command").read_text())
    assert command["command"][-1] == "vmrepl.core.deploy_remote"
    assert command["cwd"] == str(REPO_ROOT)
    assert command["env"]["ANSIBLE_CONFIG"] == str(REPO_ROOT / "project" / "ansible.cfg")
    [extra] = [w for w in command["command"] if w.startswith("@") and w.endswith(".json")]
    private = Path(extra[1:]).parent
    assert not private.is_relative_to(REPO_ROOT)
    assert not private.exists()  # removed after the run


def test_a_project_dir_that_is_not_the_collection_is_refused(tmp_path: Path) -> None:
    """VMREPL_PROJECT_DIR names the collection to run; anything else is refused before a run,
    naming the variable and what to do."""
    env = {**os.environ, "VMREPL_PROJECT_DIR": str(tmp_path)}
    done = subprocess.run(
        [VMREPL, "deploy", "--check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"VMREPL_PROJECT_DIR={tmp_path} is not the collection vmrepl.core" in done.stderr
    assert not (tmp_path / "artifacts").exists() and list(tmp_path.iterdir()) == []


def test_project_dir_finds_the_checkout_or_what_the_variable_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VMREPL_PROJECT_DIR", raising=False)
    assert paths.checkout() == REPO_ROOT and paths.project_dir() == REPO_ROOT
    assert paths.ansible_cfg() == CONFIG
    # An installed collection (its MANIFEST.json, its playbooks), as ansible-galaxy leaves it.
    installed = tmp_path / "ansible_collections" / "vmrepl" / "core"
    (installed / "playbooks").mkdir(parents=True)
    (installed / "MANIFEST.json").write_text("{}")
    (installed / "playbooks" / "health.yml").write_text("---\n")
    monkeypatch.setenv("VMREPL_PROJECT_DIR", str(installed))
    assert paths.project_dir() == installed
    assert paths.ansible_cfg() is None  # no runner project there
    assert paths.playbook_file("health.yml") == installed / "playbooks" / "health.yml"
    from vmrepl.runner import ansible_env

    env = ansible_env()
    assert "ANSIBLE_CONFIG" not in env
    assert env["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0] == str(tmp_path)


def test_playbook_names() -> None:
    assert paths.playbook_name("deploy_remote.yml") == "vmrepl.core.deploy_remote"
    assert paths.playbook_name("health") == "vmrepl.core.health"
    assert paths.playbook_name("vmrepl.core.move") == "vmrepl.core.move"


def test_the_lab_assets_are_package_data() -> None:
    """The vcsim sources and the stand-in appliances sit in the package, and pyproject ships
    them (no stale entry naming a folder that is not there)."""
    from vmrepl.lab import appliance, vcsim

    assert appliance.APPLIANCE_OVF.is_file() and appliance.PROXY_OVF.is_file()
    assert appliance.APPLIANCE_OVF.is_relative_to(paths.PACKAGE_DIR)
    assert (vcsim.SOURCES / "build.sh").is_file() and (vcsim.SOURCES / "main.go").is_file()
    assert not (REPO_ROOT / "lab").exists()
    pyproject = (REPO_ROOT / "pyproject.toml").read_text()
    [line] = [x for x in pyproject.splitlines() if x.startswith("vmrepl = [")]
    patterns = re.findall(r'"([^"]+)"', line)
    for pattern in patterns:
        assert list(paths.PACKAGE_DIR.glob(pattern)), pattern
    for asset in (paths.LAB_ASSETS).rglob("*"):
        if asset.is_file():
            relative = str(asset.relative_to(paths.PACKAGE_DIR))
            assert any(Path(relative).match(p) for p in patterns), relative


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The built collection installed alone (no checkout around it, no project/ansible.cfg),
    and the environment that uses it and nothing else (tests/cli/test_packaging.py's way)."""
    out = tmp_path_factory.mktemp("galaxy")
    packaging.run(
        BIN / "ansible-galaxy", "collection", "build", "--output-path", out, REPO_ROOT,
        cwd=REPO_ROOT,
    )  # fmt: skip
    [artifact] = out.glob("vmrepl-core-*.tar.gz")
    target = tmp_path_factory.mktemp("collections")
    env = packaging.install(artifact, target)
    return target / "ansible_collections" / "vmrepl" / "core", env


@pytest.mark.lab
def test_the_command_runs_an_installed_collection(
    installed: tuple[Path, dict[str, str]], lab: Lab, tmp_path: Path
) -> None:
    """VMREPL_PROJECT_DIR naming an installed collection (what an execution environment has):
    `vmrepl deploy --check` runs that collection's playbook, from its folder, without the
    checkout's ansible.cfg."""
    collection, env = installed
    inventory = packaging.plain_inventory(lab, tmp_path / "inventory")
    env = env | {
        "VMREPL_PROJECT_DIR": str(collection),
        "VMREPL_ARTIFACT_DIR": str(tmp_path / "artifacts"),
        "VMREPL_REPORT_DIR": str(tmp_path / "reports"),
        "VMREPL_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    done = subprocess.run(
        [VMREPL, "deploy", "--check", "-q", "-o", "json", "-i", str(inventory)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    run_dir = Path(json.loads(done.stdout)["artifact_dir"])
    assert run_dir.parent == tmp_path / "artifacts"
    command = json.loads((run_dir / "command").read_text())
    assert command["cwd"] == str(collection)
    assert "ANSIBLE_CONFIG" not in command["env"]
    first = command["env"]["ANSIBLE_COLLECTIONS_PATH"].split(os.pathsep)[0]
    assert first == str(collection.parents[2])
    events = [json.loads(p.read_text()) for p in (run_dir / "job_events").glob("*.json")]
    tasks = {
        e["event_data"]["task_path"].split(":")[0]
        for e in events
        if e["event"] == "runner_on_ok" and e["event_data"].get("task_path")
    }
    assert tasks and all(p.startswith(str(collection) + "/") for p in tasks), tasks
    assert any(p.startswith(str(collection / "roles")) for p in tasks), tasks
