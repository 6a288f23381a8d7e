"""The ZVM simulator's import graph keeps its shape: no import circle, the layers of its README
(runner → wiring → handlers → services → context → parts → foundation), and HTTP handlers that do
not import each other. ``lint-imports`` (import-linter) checks the contracts of pyproject.toml's
``[tool.importlinter]``; a violation fails this test with import-linter's report."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _contracts() -> list[dict[str, object]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(config["tool"]["importlinter"]["contracts"])


def test_the_simulator_contracts_are_declared() -> None:
    kinds = {c["id"]: c["type"] for c in _contracts()}
    assert kinds == {
        "zvm-acyclic": "acyclic_siblings",
        "zvm-layers": "layers",
        "zvm-handlers-apart": "independence",
    }


def test_lint_imports_keeps_every_contract() -> None:
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    words = " ".join(report.split())  # import-linter wraps long contract names
    for contract in _contracts():
        assert f"{contract['name']} KEPT" in words, report
