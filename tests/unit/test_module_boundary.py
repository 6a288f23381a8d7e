"""The one exception boundary of the modules: typed errors and vSphere faults become
fail_json with a readable message (and the details of what did get done)."""

from __future__ import annotations

from typing import Any

import pytest
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils._module import run
from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import TaskFailed


class Exit(Exception):
    pass


class FakeModule:
    def __init__(self) -> None:
        self.result: dict[str, Any] = {}

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
