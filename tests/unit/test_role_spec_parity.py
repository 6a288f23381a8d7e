"""Every role's defaults/main.yml and meta/argument_specs.yml name the same variables, and a
default both give is the same value (as prometheus.prometheus lints its roles). A variable the
spec requires comes from the inventory, so it has no default; the few spec options that are
not role defaults on purpose are listed with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks").is_dir())

#: (role, variable): why the spec documents it but the role's defaults do not set it.
NOT_DEFAULTS = {
    ("backup_proxy", "backup_proxy_deploy"): (
        "the switch backup_readiness.yml reads before it includes the role: a role default "
        "would come too late"
    ),
}


def defaults(role: str) -> dict[str, Any]:
    path = ROOT / "roles" / role / "defaults" / "main.yml"
    return dict(yaml.safe_load(path.read_text()) or {}) if path.exists() else {}


def spec_options(role: str) -> dict[str, Any]:
    path = ROOT / "roles" / role / "meta" / "argument_specs.yml"
    assert path.exists(), f"roles/{role} has no meta/argument_specs.yml"
    options: dict[str, Any] = {}
    for entry_point in yaml.safe_load(path.read_text())["argument_specs"].values():
        options.update(entry_point.get("options") or {})
    return options


def parity(role: str, values: dict[str, Any], options: dict[str, Any]) -> list[str]:
    problems = [
        f"roles/{role}: {name} is in defaults/main.yml, not in meta/argument_specs.yml"
        for name in sorted(set(values) - set(options))
    ]
    problems += [
        f"roles/{role}: {name} is in meta/argument_specs.yml, not in defaults/main.yml"
        for name, option in sorted(options.items())
        if name not in values and not option.get("required") and (role, name) not in NOT_DEFAULTS
    ]
    problems += [
        f"roles/{role}: {name} defaults to {values[name]!r}, the spec says {option['default']!r}"
        for name, option in sorted(options.items())
        if name in values
        and "default" in option
        and "{{" not in str(values[name])  # a template: the spec says what it gives in words
        and option["default"] != values[name]
    ]
    return problems


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_spec_name_the_same_variables(role: str) -> None:
    assert parity(role, defaults(role), spec_options(role)) == []


def test_the_exceptions_are_still_spec_options_and_still_not_defaults() -> None:
    for role, name in NOT_DEFAULTS:
        assert name in spec_options(role), (role, name)
        assert name not in defaults(role), (role, name)


def test_the_parity_check_catches_a_missing_or_different_variable() -> None:
    options = {
        "x_a": {"type": "int", "default": 1},
        "x_b": {"type": "str"},
        "x_c": {"type": "str", "required": True},
    }
    assert parity("x", {"x_a": 2, "x_d": ""}, options) == [
        "roles/x: x_d is in defaults/main.yml, not in meta/argument_specs.yml",
        "roles/x: x_b is in meta/argument_specs.yml, not in defaults/main.yml",
        "roles/x: x_a defaults to 2, the spec says 1",
    ]
    assert parity("x", {"x_a": 1, "x_b": "{{ y }}"}, options) == []
