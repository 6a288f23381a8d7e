"""The one exception boundary of the modules: typed errors and vSphere faults become
fail_json with a readable message (and the details of what did get done)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils._module import ensure, run, zvm_pending
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    TaskFailed,
)


class Exit(Exception):
    pass


ROOT = Path(__file__).resolve().parents[2]


class FakeModule:
    def __init__(self, check_mode: bool = False, diff: bool = False) -> None:
        self.result: dict[str, Any] = {}
        self.check_mode = check_mode
        self._diff = diff

    def fail_json(self, **kwargs: Any) -> None:
        self.result = {"failed": True, **kwargs}
        raise Exit

    def exit_json(self, **kwargs: Any) -> None:
        self.result = kwargs
        raise Exit


def outcome(body: Any) -> dict[str, Any]:
    module = FakeModule()
    with pytest.raises(Exit):
        run(module, body)  # type: ignore[arg-type]
    return module.result


def test_success_exits_with_the_result() -> None:
    assert outcome(lambda: {"changed": True, "msg": "done"}) == {"changed": True, "msg": "done"}


def test_a_typed_error_keeps_its_hint_and_details() -> None:
    def body() -> dict[str, Any]:
        raise TaskFailed("esx2 failed.", hint="Run again.", details={"installed": ["esx1"]})

    result = outcome(body)
    assert result == {
        "failed": True,
        "msg": "esx2 failed. Run again.",
        "error": "TaskFailed",
        "installed": ["esx1"],
    }


def test_a_vsphere_fault_is_reported_with_vcenters_message() -> None:
    def body() -> dict[str, Any]:
        raise vim.fault.DuplicateName(msg="The name 'x' already exists.", name="x")

    result = outcome(body)
    assert result["failed"] is True
    assert result["msg"] == "vCenter refused the operation: The name 'x' already exists."


def test_no_fail_json_outside_the_boundary() -> None:
    """Modules and services raise typed errors; only _module.run calls fail_json."""
    call = re.compile(r"\.fail_json\(")
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(ROOT.glob("plugins/**/*.py"))
        if path.name != "_module.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if call.search(line)
    ]
    assert found == []


# -- ensure: the plan → result edge ------------------------------------------------------------
@dataclass
class FakePlan:
    changes: dict[str, tuple[Any, Any]]
    facts: dict[str, Any] = field(default_factory=dict)

    def summary(self, check_mode: bool) -> str:
        return f"{'would change' if check_mode else 'changing'} {sorted(self.changes)}"


def test_ensure_applies_a_plan_with_changes_and_takes_what_apply_returns() -> None:
    applied = []
    plan = FakePlan({"size": (1, 2)}, {"name": "x"})
    result = ensure(FakeModule(), plan, lambda: applied.append(1) or {"msg": "changed size"})  # type: ignore[arg-type, func-returns-value]
    assert applied == [1]
    assert result == {"changed": True, "name": "x", "msg": "changed size"}


def test_ensure_in_check_mode_does_not_apply_and_says_what_it_would_do() -> None:
    def apply() -> dict[str, Any]:
        raise AssertionError("applied in check mode")

    result = ensure(FakeModule(check_mode=True), FakePlan({"size": (1, 2)}), apply)  # type: ignore[arg-type]
    assert result == {"changed": True, "msg": "would change ['size']"}


def test_ensure_without_changes_does_not_apply_and_reports_unchanged() -> None:
    def apply() -> dict[str, Any]:
        raise AssertionError("applied without changes")

    result = ensure(FakeModule(diff=True), FakePlan({}, {"name": "x"}), apply)  # type: ignore[arg-type]
    assert result == {
        "changed": False,
        "name": "x",
        "msg": "changing []",
        "diff": {"before": {}, "after": {}},
    }


def test_ensure_builds_the_diff_from_the_changed_keys_only_when_asked() -> None:
    plan = FakePlan({"size": (1, 2), "name": ("a", "b")})
    with_diff = ensure(FakeModule(check_mode=True, diff=True), plan, dict)  # type: ignore[arg-type]
    assert with_diff["diff"] == {
        "before": {"size": 1, "name": "a"},
        "after": {"size": 2, "name": "b"},
    }
    assert "diff" not in ensure(FakeModule(check_mode=True), plan, dict)  # type: ignore[arg-type]


@dataclass
class WaitingPlan(FakePlan):
    """A plan with nothing to change that still has something to do at apply."""

    needs_apply: bool = True


def test_ensure_applies_a_plan_that_needs_it_without_changes_but_not_in_check_mode() -> None:
    applied = []

    def apply() -> dict[str, Any]:
        applied.append(1)
        return {"msg": "waited"}

    assert ensure(FakeModule(check_mode=True), WaitingPlan({}), apply)["msg"] == "would change []"  # type: ignore[arg-type]
    assert applied == []
    assert ensure(FakeModule(), WaitingPlan({}), apply) == {"changed": False, "msg": "waited"}  # type: ignore[arg-type]
    assert applied == [1]
    assert ensure(FakeModule(), WaitingPlan({}, needs_apply=False), apply)["msg"] == "changing []"  # type: ignore[arg-type]
    assert applied == [1]


def test_the_diff_an_apply_returns_replaces_the_planned_one_only_when_asked() -> None:
    """An apply that compared more than the reads could returns the change as made."""
    made = {"before": {"size": 1, "colour": "red"}, "after": {"size": 2, "colour": "blue"}}

    def apply() -> dict[str, Any]:
        return {"diff": made, "changed": True}

    plan = FakePlan({"size": (1, 2)})
    assert ensure(FakeModule(diff=True), plan, apply)["diff"] == made  # type: ignore[arg-type]
    assert "diff" not in ensure(FakeModule(), plan, apply)  # type: ignore[arg-type]


def test_zvm_pending_is_for_check_mode_only() -> None:
    module = FakeModule(check_mode=True)
    module.params = {"zvm_pending": True}  # type: ignore[attr-defined]
    assert zvm_pending(module) is True  # type: ignore[arg-type]
    module.params = {"zvm_pending": False}  # type: ignore[attr-defined]
    assert zvm_pending(module) is False  # type: ignore[arg-type]
    real = FakeModule()
    real.params = {"zvm_pending": True}  # type: ignore[attr-defined]
    with pytest.raises(ConfigurationError, match="check mode only: license it later"):
        zvm_pending(real, "license it later")  # type: ignore[arg-type]
