"""The simulator's vCenter backend: reads the inventory and creates, powers and deletes VMs
through the project's VSphereClient (pyVmomi). Calls are serialised on one session.

Reading the inventory is most of a simulator's CPU (pyVmomi deserialising the answers), and its
background rounds (the heartbeat's alerts, the maintenance watcher) would each read it every
round. They ask for an inventory at most ``max_age`` seconds old and share one read; API calls
ask with the default ``max_age=0`` and always read afresh. Any change made through this backend
forgets what was read (changes made to vCenter by others are seen within ``max_age``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pyVmomi import vim, vmodl

from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    ManagedObject,
    VSphereClient,
    VSphereConnectionParams,
    fault_message,
)
from vmrepl.lab.zvm.config import VCenterConfig
from vmrepl.lab.zvm.errors import OperationFailed
from vmrepl.lab.zvm.inventory import (
    MARK_PREFIX,
    ROOT_FOLDER_NAME,
    ClusterInfo,
    DatastoreInfo,
    DiskInfo,
    FolderInfo,
    HostInfo,
    Inventory,
    NetworkInfo,
    NicInfo,
    PoolInfo,
    VmInfo,
)

T = TypeVar("T")
#: how old an inventory the background rounds (alerts, maintenance) may share, in seconds
ROUND_MAX_AGE = 1.0

_HOST_PROPS = (
    "name",
    "parent",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "config.product.version",
    "datastore",
    "network",
)
#: "basic": where a VM is and what the simulator marked it as
_VM_BASIC = (
    "name",
    "parent",
    "runtime.host",
    "runtime.powerState",
    "config.template",
    "config.extraConfig",
    "config.instanceUuid",
    "config.hardware.numCPU",
    "config.hardware.memoryMB",
    "datastore",
    "network",
    "resourcePool",
)
#: "full": also its devices (the bulk of a VM's properties: NICs and disks)
_VM_FULL = (*_VM_BASIC, "config.guestFullName", "config.hardware.device")
#: how much of the VMs an inventory reads: "none", "basic" or "full"
Detail = Literal["none", "basic", "full"]


def _specs(detail: Detail) -> list[tuple[Any, Sequence[str]]]:
    specs: list[tuple[Any, Sequence[str]]] = [
        (vim.HostSystem, _HOST_PROPS),
        (vim.Datastore, ("name", "summary.capacity", "summary.freeSpace", "summary.accessible")),
        (vim.Network, ("name",)),
        (vim.ClusterComputeResource, ("name", "host", "resourcePool")),
        (vim.ComputeResource, ("name", "host", "resourcePool")),
        (vim.Folder, ("name", "parent", "childType")),
        (vim.ResourcePool, ("name", "owner")),
        (vim.Datacenter, ("name", "vmFolder")),
    ]
    if detail != "none":
        specs.append((vim.VirtualMachine, _VM_FULL if detail == "full" else _VM_BASIC))
    return specs


@dataclass
class VmSpec:
    """A VM to create: morefs of where it goes, and the marks (extraConfig) it carries."""

    name: str
    host: str
    datastore: str
    folder: str | None = None
    pool: str | None = None
    network: str | None = None
    memory_mb: int = 1024
    cpus: int = 1
    marks: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplianceVm:
    """A VM as the boot watcher sees it: its OVF properties are its extraConfig (vcsim 0.24)."""

    moref: str
    name: str
    power: str
    properties: dict[str, str]

    @property
    def powered_on(self) -> bool:
        return self.power == "poweredOn"


class VCenterBackend:
    def __init__(self, config: VCenterConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._client: VSphereClient | None = None
        #: the last inventory read of each detail, with when it was read (time.monotonic)
        self._read: dict[Detail, tuple[float, Inventory]] = {}
        #: how many inventories were read from vCenter (the unit tests count them)
        self.inventory_reads = 0

    # -- session ----------------------------------------------------------------------------
    def connect(self) -> None:
        with self._lock:
            if self._client is None:
                self._client = VSphereClient.connect(
                    VSphereConnectionParams(
                        hostname=self.config.host,
                        port=self.config.port,
                        username=self.config.username,
                        password=self.config.password,
                        ca_file=str(self.config.ca_file) if self.config.ca_file else None,
                        timeout=30.0,
                    )
                )

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    @property
    def server_id(self) -> str:
        return self._run(lambda c: c.instance_uuid)

    def _run(self, action: Callable[[VSphereClient], T]) -> T:
        with self._lock:
            self.connect()
            assert self._client is not None
            try:
                return action(self._client)
            except vim.fault.NotAuthenticated:
                self._client = None
                self.connect()
                assert self._client is not None
                return action(self._client)

    # -- reading ----------------------------------------------------------------------------
    def inventory(self, detail: Detail = "basic", max_age: float = 0.0) -> Inventory:
        """The inventory in one PropertyCollector call; ``detail`` says how much of the VMs
        (their devices, read for "full", are most of the bytes). With ``max_age`` > 0, an
        inventory of that detail read at most ``max_age`` seconds ago, and not since changed
        through this backend, is returned instead (callers must not change it)."""
        with self._lock:
            last = self._read.get(detail)
            if max_age > 0 and last is not None and time.monotonic() - last[0] <= max_age:
                return last[1]
            inv = self._run(lambda client: self._inventory(client, detail))
            self.inventory_reads += 1
            self._read[detail] = (time.monotonic(), inv)
            return inv

    def _change(self, action: Callable[[VSphereClient], T]) -> T:
        """Run a change; what was read before it is forgotten, even when it failed halfway."""
        with self._lock:
            try:
                return self._run(action)
            finally:
                self._read.clear()

    def _inventory(self, client: VSphereClient, detail: Detail) -> Inventory:
        found = client.retrieve_many(_specs(detail))
        datacenters = found[vim.Datacenter]
        dc = datacenters[0] if datacenters else None
        inv = Inventory(
            server_id=client.instance_uuid,
            datacenter=str(dc["name"]) if dc else "",
            vm_folder=_ref_id(dc["vmFolder"]) if dc else None,
        )
        for obj in found[vim.ClusterComputeResource] + found[vim.ComputeResource]:
            if isinstance(obj.ref, vim.ClusterComputeResource):
                inv.clusters[obj.moid] = ClusterInfo(
                    obj.moid, str(obj["name"]), _ids(obj["host"]), _ref_id(obj["resourcePool"])
                )
        pools_of = {
            h: _ref_id(obj["resourcePool"])
            for obj in found[vim.ClusterComputeResource] + found[vim.ComputeResource]
            for h in _ids(obj["host"])
        }
        for obj in found[vim.HostSystem]:
            parent = _ref_id(obj["parent"])
            inv.hosts[obj.moid] = HostInfo(
                moref=obj.moid,
                name=str(obj["name"]),
                version=str(obj["config.product.version"] or ""),
                connection=str(obj["runtime.connectionState"] or "connected"),
                maintenance=bool(obj["runtime.inMaintenanceMode"]),
                cluster=parent if parent in inv.clusters else None,
                datastores=_ids(obj["datastore"]),
                networks=_ids(obj["network"]),
                pool=pools_of.get(obj.moid),
            )
        for obj in found[vim.Datastore]:
            inv.datastores[obj.moid] = DatastoreInfo(
                obj.moid,
                str(obj["name"]),
                int(obj["summary.capacity"] or 0),
                int(obj["summary.freeSpace"] or 0),
                bool(obj["summary.accessible"]),
            )
        for obj in found[vim.Network]:
            inv.networks[obj.moid] = NetworkInfo(obj.moid, str(obj["name"]))
        for obj in found[vim.Folder]:
            inv.folders[obj.moid] = FolderInfo(
                obj.moid,
                # a ZVM names the datacenter's root VM folder "/" (vCenter: "vm")
                ROOT_FOLDER_NAME if obj.moid == inv.vm_folder else str(obj["name"]),
                _ref_id(obj["parent"]),
                "VirtualMachine" in list(obj["childType"] or []),
            )
        for obj in found[vim.ResourcePool]:
            inv.pools[obj.moid] = PoolInfo(obj.moid, str(obj["name"]), _ref_id(obj["owner"]))
        for obj in found.get(vim.VirtualMachine, []):
            inv.vms[obj.moid] = _vm_info(obj)
        return inv

    def appliance_vms(self) -> list[ApplianceVm]:
        """Every VM's name, power state and extraConfig, in one PropertyCollector call."""
        return self._run(self._appliance_vms)

    def appliance_vm(self, moref: str) -> ApplianceVm | None:
        """One VM's name, power state and extraConfig; None when it no longer exists."""

        def read(client: VSphereClient) -> ApplianceVm | None:
            try:
                found = client.retrieve_objects(
                    [client.get(vim.VirtualMachine, moref)], _APPLIANCE_PROPS
                )
            except vmodl.fault.ManagedObjectNotFound:
                return None
            return _appliance(found[0]) if found else None

        return self._run(read)

    @staticmethod
    def _appliance_vms(client: VSphereClient) -> list[ApplianceVm]:
        return [_appliance(obj) for obj in client.retrieve(vim.VirtualMachine, _APPLIANCE_PROPS)]

    # -- changing ---------------------------------------------------------------------------
    def create_vms(self, specs: Sequence[VmSpec]) -> list[str]:
        """Create the VMs (powered off) and return their morefs, in order."""
        return self._change(lambda c: self._create_vms(c, specs))

    def _create_vms(self, client: VSphereClient, specs: Sequence[VmSpec]) -> list[str]:
        if not specs:
            return []
        names = {
            o.moid: str(o["name"])
            for o in client.retrieve_objects(
                [client.get(vim.Datastore, s.datastore) for s in specs], ["name"]
            )
        }
        # typed references (a DistributedVirtualPortgroup needs its own NIC backing)
        networks = {o.moid: o.ref for o in client.retrieve(vim.Network, ["name"])}
        tasks = []
        for spec in specs:
            if spec.datastore not in names:
                raise OperationFailed(f"Datastore {spec.datastore} does not exist.")
            host = client.get(vim.HostSystem, spec.host)
            tasks.append(
                client.create_vm(
                    spec.name,
                    host,
                    names[spec.datastore],
                    folder=client.get(vim.Folder, spec.folder) if spec.folder else None,
                    resource_pool=client.get(vim.ResourcePool, spec.pool) if spec.pool else None,
                    memory_mb=spec.memory_mb,
                    cpus=spec.cpus,
                    network=networks.get(spec.network) if spec.network else None,
                    extra_config=spec.marks,
                )
            )
        done = _wait(client, tasks)
        return [str(done[_ref_id(t) or ""].result._moId) for t in tasks]

    def power_on(self, morefs: Sequence[str]) -> None:
        self._change(lambda c: _wait(c, c.power_on(self._existing(c, morefs))))

    def power_off(self, morefs: Sequence[str]) -> None:
        self._change(lambda c: _wait(c, c.power_off(self._existing(c, morefs))))

    def destroy(self, morefs: Sequence[str]) -> None:
        """Power off and delete the VMs that still exist."""

        def run(client: VSphereClient) -> None:
            vms = self._existing(client, morefs)
            if vms:
                try:
                    client.destroy(vms, timeout=120)
                except Exception as exc:
                    raise OperationFailed(f"Deleting VMs failed: {exc}") from exc

        self._change(run)

    def reconfigure(
        self,
        moref: str,
        *,
        memory_mb: int | None = None,
        cpus: int | None = None,
        marks: dict[str, str] | None = None,
    ) -> None:
        def run(client: VSphereClient) -> None:
            vm = client.get(vim.VirtualMachine, moref)
            _wait(
                client,
                [client.reconfigure_vm(vm, memory_mb=memory_mb, cpus=cpus, extra_config=marks)],
            )

        self._change(run)

    def _existing(self, client: VSphereClient, morefs: Sequence[str]) -> list[Any]:
        if not morefs:
            return []
        present = {o.moid for o in client.retrieve(vim.VirtualMachine, ["name"])}
        return [client.get(vim.VirtualMachine, m) for m in morefs if m in present]


def _wait(client: VSphereClient, tasks: Sequence[Any]) -> dict[str, Any]:
    if not tasks:
        return {}
    try:
        return client.wait_for_tasks(tasks, timeout=120, interval=0.05)
    except vmodl.MethodFault as exc:
        raise OperationFailed(f"vCenter refused: {fault_message(exc)}") from exc
    except Exception as exc:
        if isinstance(exc, OperationFailed):
            raise
        raise OperationFailed(str(exc)) from exc


_APPLIANCE_PROPS = ("name", "runtime.powerState", "config.extraConfig")


def _appliance(obj: ManagedObject) -> ApplianceVm:
    return ApplianceVm(
        obj.moid,
        str(obj["name"]),
        str(obj["runtime.powerState"] or "poweredOff"),
        {str(o.key): str(o.value) for o in obj["config.extraConfig"] or [] if o.value is not None},
    )


def _ref_id(ref: Any) -> str | None:
    return None if ref is None else str(ref._moId)


def _ids(refs: Any) -> list[str]:
    return [str(r._moId) for r in (refs or [])]


def _vm_info(obj: ManagedObject) -> VmInfo:
    marks = {
        str(o.key): str(o.value)
        for o in obj["config.extraConfig"] or []
        if str(o.key).startswith(MARK_PREFIX) and o.value not in (None, "")
    }
    devices = list(obj["config.hardware.device"] or [])
    buses = {
        d.key: (_controller_kind(d), d.busNumber)
        for d in devices
        if isinstance(d, vim.vm.device.VirtualController)
    }
    nics: list[NicInfo] = []
    disks: list[DiskInfo] = []
    for device in devices:
        if isinstance(device, vim.vm.device.VirtualEthernetCard):
            backing = device.backing
            network = None
            if isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
                network = _ref_id(backing.network)
            elif isinstance(
                backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo
            ):
                network = backing.port.portgroupKey if backing.port else None
            nics.append(NicInfo(f"Network adapter {len(nics) + 1}", network, device.macAddress))
        elif isinstance(device, vim.vm.device.VirtualDisk):
            kind, bus = buses.get(device.controllerKey or -1, ("scsi", 0))
            disks.append(
                DiskInfo(f"{kind}:{bus}:{device.unitNumber}", int(device.capacityInKB or 0))
            )
    return VmInfo(
        moref=obj.moid,
        name=str(obj["name"]),
        host=_ref_id(obj["runtime.host"]),
        power=str(obj["runtime.powerState"] or "poweredOff"),
        template=bool(obj["config.template"]),
        folder=_ref_id(obj["parent"]),
        pool=_ref_id(obj["resourcePool"]),
        datastores=_ids(obj["datastore"]),
        networks=_ids(obj["network"]),
        cpus=int(obj["config.hardware.numCPU"] or 1),
        memory_mb=int(obj["config.hardware.memoryMB"] or 0),
        guest_os=str(obj["config.guestFullName"] or "Other (64-bit)"),
        instance_uuid=obj["config.instanceUuid"],
        marks=marks,
        nics=nics,
        disks=disks,
    )


def _controller_kind(device: Any) -> str:
    if isinstance(device, vim.vm.device.VirtualIDEController):
        return "ide"
    if isinstance(device, vim.vm.device.VirtualSATAController):
        return "sata"
    if isinstance(device, vim.vm.device.VirtualNVMEController):
        return "nvme"
    return "scsi"
