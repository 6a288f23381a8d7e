"""galaxy.yml says only what is true: every ``build_ignore`` entry names something there is."""

from __future__ import annotations

import fnmatch
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def tracked_paths() -> set[str]:
    """Every tracked file of the repository and every folder above one (relative paths)."""
    files = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    paths = set(files)
    for name in files:
        parts = name.split("/")
        paths.update("/".join(parts[:i]) for i in range(1, len(parts)))
    return paths


def generated_patterns() -> set[str]:
    """What .gitignore names as made inside a checkout (caches, the venv, build output)."""
    patterns = set()
    for raw in (ROOT / ".gitignore").read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith(("#", "!")):
            patterns.add(line.strip("/"))
    return patterns


def test_every_build_ignore_entry_matches_something_in_the_repository() -> None:
    entries = yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
    paths, generated = tracked_paths(), generated_patterns()
    nowhere = [
        entry
        for entry in entries
        if entry != ".git"  # the repository itself
        and not any(fnmatch.fnmatch(path, entry) for path in paths)
        and not any(entry == g or fnmatch.fnmatch(g, entry) for g in generated)
    ]
    assert nowhere == [], f"build_ignore entries that match nothing: {nowhere}"


def test_every_runner_entry_point_at_the_root_is_ignored() -> None:
    """The other way round: the runner project (project/: ansible-runner's entry points and
    ansible.cfg) is kept out of the collection, which has its own playbooks in playbooks/; no
    playbook is left at the top."""
    entries = set(yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"])
    assert "project" in entries
    top = {p.name for p in ROOT.glob("*.yml")} - {"galaxy.yml"}
    assert sorted(top - entries) == []
