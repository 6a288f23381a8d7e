"""How often the simulator reads its vCenter, with a fake vSphere client and no vCenter at all.

Reading the inventory is most of an idle simulator's CPU (pyVmomi deserialising the answers), so
its background rounds share one read per ``ROUND_MAX_AGE`` and its boot watcher reads only its
own appliance once booted; API calls still read afresh, and a change forgets what was read."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

import pytest

from vmrepl.lab.zvm import vcenter
from vmrepl.lab.zvm.boot import IP_PROPERTY, BootWatcher
from vmrepl.lab.zvm.config import VCenterConfig
from vmrepl.lab.zvm.inventory import Inventory
from vmrepl.lab.zvm.site.alerts import vra_conditions
from vmrepl.lab.zvm.vcenter import ROUND_MAX_AGE, ApplianceVm, VCenterBackend

ADDRESS = "127.0.0.5"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeClient:
    """What the backend's changes ask of the project's VSphereClient (VMs vm-1 and vm-2)."""

    def __init__(self) -> None:
        self.fail = False

    def retrieve(self, obj_type: Any, properties: Any, *a: Any) -> list[Any]:
        return [SimpleNamespace(moid="vm-1"), SimpleNamespace(moid="vm-2")]

    def get(self, obj_type: Any, moref: str) -> str:
        return moref

    def power_off(self, vms: list[str]) -> list[str]:
        if self.fail:
            raise RuntimeError("vCenter went away")
        return [f"task-{vm}" for vm in vms]

    def wait_for_tasks(self, tasks: list[str], **kw: Any) -> dict[str, Any]:
        return {t: None for t in tasks}


@pytest.fixture
def backend(monkeypatch: pytest.MonkeyPatch) -> tuple[VCenterBackend, Clock, FakeClient]:
    clock, client = Clock(), FakeClient()
    monkeypatch.setattr(vcenter.time, "monotonic", clock)
    backend = VCenterBackend(VCenterConfig("https://127.0.0.1:1", "user", "secret"))
    backend._client = cast(Any, client)  # connected: _run uses it as it is

    def read(client: Any, detail: str) -> Inventory:
        read_id = f"read-{backend.inventory_reads}"
        return Inventory(server_id=read_id, datacenter=detail, vm_folder=None)

    monkeypatch.setattr(backend, "_inventory", read)
    return backend, clock, client


def test_api_reads_are_always_fresh(backend: Any) -> None:
    b, _, _ = backend
    first, second = b.inventory(), b.inventory()
    assert b.inventory_reads == 2
    assert first is not second


def test_background_rounds_share_one_read_until_it_is_max_age_old(backend: Any) -> None:
    b, clock, _ = backend
    first = b.inventory(max_age=ROUND_MAX_AGE)
    clock.now += ROUND_MAX_AGE / 2
    assert b.inventory(max_age=ROUND_MAX_AGE) is first
    assert b.inventory_reads == 1
    clock.now += ROUND_MAX_AGE
    assert b.inventory(max_age=ROUND_MAX_AGE) is not first
    assert b.inventory_reads == 2


def test_an_api_read_refreshes_what_the_rounds_share(backend: Any) -> None:
    b, _, _ = backend
    b.inventory(max_age=ROUND_MAX_AGE)
    fresh = b.inventory()
    assert b.inventory(max_age=ROUND_MAX_AGE) is fresh
    assert b.inventory_reads == 2


def test_each_detail_is_kept_apart(backend: Any) -> None:
    b, _, _ = backend
    basic = b.inventory("basic", max_age=ROUND_MAX_AGE)
    full = b.inventory("full", max_age=ROUND_MAX_AGE)
    assert (basic.datacenter, full.datacenter) == ("basic", "full")
    assert b.inventory("basic", max_age=ROUND_MAX_AGE) is basic
    assert b.inventory_reads == 2


@pytest.mark.parametrize("fails", [False, True], ids=["done", "failed halfway"])
def test_a_change_forgets_what_was_read(backend: Any, fails: bool) -> None:
    b, _, client = backend
    before = b.inventory(max_age=ROUND_MAX_AGE)
    client.fail = fails
    if fails:
        with pytest.raises(RuntimeError):
            b.power_off(["vm-1"])
    else:
        b.power_off(["vm-1"])
    assert b.inventory(max_age=ROUND_MAX_AGE) is not before
    assert b.inventory_reads == 2


def test_the_vra_alerts_of_a_round_read_with_the_max_age_they_are_given() -> None:
    asked: list[float] = []
    inv = Inventory(server_id="s", datacenter="dc", vm_folder=None)

    def inventory(detail: str = "basic", max_age: float = 0.0) -> Inventory:
        asked.append(max_age)
        return inv

    vras = SimpleNamespace(
        ctx=SimpleNamespace(backend=SimpleNamespace(inventory=inventory)),
        views=lambda given: (given, []),
    )
    assert vra_conditions(cast(Any, vras), cast(Any, None), ROUND_MAX_AGE) == []
    assert vra_conditions(cast(Any, vras), cast(Any, None)) == []
    assert asked == [ROUND_MAX_AGE, 0.0]


class FakeAppliances:
    """The boot watcher's backend: the VMs by moref, and which reads it was asked for."""

    def __init__(self, *vms: ApplianceVm) -> None:
        self.vms = {vm.moref: vm for vm in vms}
        self.reads: list[str] = []

    def appliance_vms(self) -> list[ApplianceVm]:
        self.reads.append("all")
        return list(self.vms.values())

    def appliance_vm(self, moref: str) -> ApplianceVm | None:
        self.reads.append(moref)
        return self.vms.get(moref)


def _vm(moref: str, power: str = "poweredOn", address: str = ADDRESS) -> ApplianceVm:
    return ApplianceVm(moref, f"zvm-{moref}", power, {IP_PROPERTY: address})


def _watcher(backend: FakeAppliances) -> tuple[BootWatcher, list[str]]:
    calls: list[str] = []
    watcher = BootWatcher(
        cast(Any, backend),
        ADDRESS,
        boot_seconds=0,
        poll_seconds=0.5,
        on_boot=lambda b: calls.append(f"boot {b.vm}"),
        on_shutdown=lambda: calls.append("shutdown"),
    )
    return watcher, calls


def test_the_boot_watcher_reads_every_vm_until_booted_then_only_its_own() -> None:
    backend = FakeAppliances(_vm("vm-7", address="127.0.0.9"), _vm("vm-8"))
    watcher, calls = _watcher(backend)
    watcher.step(watcher.look(), 0.0)
    assert calls == ["boot vm-8"]
    for now in (1.0, 2.0, 3.0):
        watcher.step(watcher.look(), now)
    assert backend.reads == ["all", "vm-8", "vm-8", "vm-8"]
    assert calls == ["boot vm-8"]


@pytest.mark.parametrize(
    "change",
    ["powered off", "gone", "given another address"],
)
def test_the_boot_watcher_looks_at_every_vm_again_when_its_own_stops(change: str) -> None:
    backend = FakeAppliances(_vm("vm-8"))
    watcher, calls = _watcher(backend)
    watcher.step(watcher.look(), 0.0)
    if change == "powered off":
        backend.vms["vm-8"] = _vm("vm-8", power="poweredOff")
    elif change == "gone":
        del backend.vms["vm-8"]
    else:
        backend.vms["vm-8"] = _vm("vm-8", address="127.0.0.9")
    watcher.step(watcher.look(), 1.0)
    assert backend.reads == ["all", "vm-8", "all"]
    assert calls == ["boot vm-8", "shutdown"]
    assert watcher.booted is None

