# Copyright: vmrepl contributors
# Apache License 2.0
"""The vSphere client: connect, PropertyCollector queries, task waits, VM and network changes.

Plain Python on top of pyVmomi, no Ansible imports, so that the modules, the CLI and the lab
share it. Discovery goes through the PropertyCollector: one ``RetrievePropertiesEx`` (plus its
continuation pages) per object type, however many objects a site holds. Every task is waited on
by :meth:`VSphereClient.wait_for_tasks`, which polls all of them with one call per round.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    NotFound,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until

try:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl

    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR: str | None = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = str(exc)

#: Properties read for each kind of object during discovery.
HOST_PROPERTIES = (
    "name",
    "parent",
    "runtime.connectionState",
    "runtime.inMaintenanceMode",
    "runtime.powerState",
    "config.product.version",
    "config.product.build",
    "datastore",
    "network",
    "customValue",
    "hardware.memorySize",
    "summary.hardware.numCpuCores",
)
VM_PROPERTIES = (
    "name",
    "parent",
    "runtime.host",
    "runtime.powerState",
    "config.uuid",
    "config.instanceUuid",
    "config.template",
    "config.annotation",
    "config.hardware.device",
    "config.extraConfig",
    "datastore",
    "network",
    "customValue",
    "guest.ipAddress",
    "guest.toolsRunningStatus",
    "resourcePool",
)
DATASTORE_PROPERTIES = (
    "name",
    "summary.capacity",
    "summary.freeSpace",
    "summary.type",
    "summary.accessible",
)
NETWORK_PROPERTIES = ("name",)
CLUSTER_PROPERTIES = ("name", "parent", "host", "resourcePool")
FOLDER_PROPERTIES = ("name", "parent", "childType")
RESOURCE_POOL_PROPERTIES = ("name", "parent", "owner")
DATACENTER_PROPERTIES = ("name", "vmFolder", "hostFolder", "networkFolder", "datastoreFolder")


@dataclass(frozen=True)
class VSphereConnectionParams:
    """How to reach one vCenter. ``password`` is a secret: never log it."""

    hostname: str
    username: str
    password: str = field(repr=False)
    port: int = 443
    validate_certs: bool = True
    ca_file: str | None = None
    timeout: float = 60.0

    def ssl_context(self) -> ssl.SSLContext:
        if not self.validate_certs:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass
class ManagedObject:
    """One object as the PropertyCollector returned it: its moref id, type and properties."""

    moid: str
    type: str
    props: dict[str, Any]
    ref: Any = field(repr=False, default=None)

    def __getitem__(self, key: str) -> Any:
        return self.props.get(key)


def moid(ref: Any) -> str:
    """The managed object id (``host-12``) of a pyVmomi reference."""
    return str(ref._moId)


def _require_pyvmomi() -> None:
    if not HAS_PYVMOMI:
        raise VmreplError(
            f"pyVmomi is not installed ({PYVMOMI_IMPORT_ERROR}).",
            hint="Install it on the controller: pip install pyvmomi.",
        )


class VSphereClient:
    """A connected vCenter session. Use :meth:`connect`, and :meth:`close` when done."""

    def __init__(self, service_instance: Any, params: VSphereConnectionParams) -> None:
        self.si = service_instance
        self.params = params
        self.content = service_instance.RetrieveContent()
        #: SOAP round trips made through this client's helpers (benchmarks read it).
        self.calls = 0

    # -- connection -------------------------------------------------------------------------
    @classmethod
    def connect(cls, params: VSphereConnectionParams) -> VSphereClient:
        _require_pyvmomi()
        where = f"vCenter {params.hostname}:{params.port}"
        try:
            si = SmartConnect(
                host=params.hostname,
                port=params.port,
                user=params.username,
                pwd=params.password,
                sslContext=params.ssl_context(),
                httpConnectionTimeout=params.timeout,
            )
        except vim.fault.InvalidLogin as exc:
            raise AuthenticationFailed(
                f"{where} refused the login of user {params.username!r}.",
                hint=(
                    "Check the vCenter username and password (vmrepl_vcenter_username and "
                    "vmrepl_vcenter_password in the inventory or its vault; the VMWARE_* "
                    "variables in a playbook of your own)."
                ),
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise ConnectionFailed(
                f"{where}: the TLS certificate could not be verified ({exc.verify_message}).",
                hint="Give the CA that signed it in ca_file (validate_certs false only in a lab).",
            ) from exc
        except (TimeoutError, OSError) as exc:
            raise ConnectionFailed(
                f"Cannot reach {where}: {exc}.",
                hint="Check the hostname and port and that the controller can reach them.",
            ) from exc
        except vmodl.MethodFault as exc:
            raise VmreplError(f"{where} refused the login: {fault_message(exc)}") from exc
        return cls(si, params)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # best effort on the way out
            Disconnect(self.si)

    def __enter__(self) -> VSphereClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def instance_uuid(self) -> str:
        """The vCenter's instance UUID (the ZVM prefixes moref ids with a server id like it)."""
        return str(self.content.about.instanceUuid)

    # -- PropertyCollector ------------------------------------------------------------------
    def retrieve(
        self,
        obj_type: Any,
        properties: Sequence[str],
        container: Any = None,
        page_size: int = 1000,
    ) -> list[ManagedObject]:
        """Every object of ``obj_type`` under ``container`` (default: the root folder) with the
        named properties: one container view and one RetrievePropertiesEx per page of
        ``page_size`` objects (see :meth:`retrieve_many`)."""
        return self.retrieve_many([(obj_type, properties)], container, page_size)[obj_type]

    def retrieve_objects(
        self, refs: Iterable[Any], properties: Sequence[str]
    ) -> list[ManagedObject]:
        """The named properties of the given objects (all of one type) in one call."""
        refs = list(refs)
        if not refs:
            return []
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=ref) for ref in refs],
            propSet=[
                vmodl.query.PropertyCollector.PropertySpec(
                    type=type(refs[0]), pathSet=list(properties), all=False
                )
            ],
        )
        return self._retrieve_spec(spec, 1000)

    def _retrieve_spec(self, spec: Any, page_size: int) -> list[ManagedObject]:
        collector = self.content.propertyCollector
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
        result = collector.RetrievePropertiesEx([spec], options)
        self.calls += 1
        objects: list[ManagedObject] = []
        while result is not None:
            for item in result.objects or []:
                props = {prop.name: prop.val for prop in item.propSet or []}
                objects.append(
                    ManagedObject(moid(item.obj), type(item.obj).__name__, props, item.obj)
                )
            if not result.token:
                break
            result = collector.ContinueRetrievePropertiesEx(result.token)
            self.calls += 1
        return objects

    def get(self, obj_type: Any, object_id: str) -> Any:
        """A reference to the object of that type and moref id (not checked to exist)."""
        return obj_type(object_id, self.si._stub)

    def find_by_name(self, obj_type: Any, name: str, container: Any = None) -> ManagedObject:
        for obj in self.retrieve(obj_type, ["name"], container):
            if obj["name"] == name:
                return obj
        raise NotFound(f"No {obj_type.__name__.split('.')[-1]} named {name!r} in vCenter.")

    # -- tasks ------------------------------------------------------------------------------
    def wait_for_tasks(
        self,
        tasks: Sequence[Any],
        timeout: float = 600.0,
        interval: float = 0.2,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
        raise_on_error: bool = True,
    ) -> dict[str, Any]:
        """Wait for every task to finish, reading all their states in one call per round.

        Returns ``{task moid: vim.TaskInfo}``. With ``raise_on_error`` (the default) the first
        failed task raises :class:`TaskFailed` once all have finished, so that one failure does
        not leave the others unobserved.
        """
        pending = {moid(task): task for task in tasks}
        done: dict[str, Any] = {}

        def round_() -> dict[str, Any] | None:
            for obj in self.retrieve_objects(pending.values(), ["info"]):
                info = obj["info"]
                if info.state in (vim.TaskInfo.State.success, vim.TaskInfo.State.error):
                    done[obj.moid] = info
                    pending.pop(obj.moid, None)
            if on_progress is not None:
                on_progress({"done": len(done), "pending": len(pending)})
            return done if not pending else None

        def timed_out() -> TaskTimeout:
            names = ", ".join(sorted(pending))
            return TaskTimeout(
                f"vCenter tasks {names} did not finish within {timeout:.0f} s.",
                hint="They may still be running: check the vCenter task list before a re-run.",
            )

        if pending:
            poll_until(round_, timeout=timeout, interval=interval, timeout_error=timed_out)
        if raise_on_error:
            for info in done.values():
                if info.state == vim.TaskInfo.State.error:
                    raise TaskFailed(
                        f"vCenter task {info.descriptionId or info.name} on "
                        f"{getattr(info, 'entityName', '?')} failed: {fault_message(info.error)}"
                    )
        return done

    def wait_for_task(self, task: Any, timeout: float = 600.0) -> Any:
        """Wait for one task and return its result."""
        return self.wait_for_tasks([task], timeout)[moid(task)].result

    # -- inventory helpers ------------------------------------------------------------------
    def datacenter_of(self, ref: Any) -> Any:
        """The datacenter that holds ``ref`` (walks up the parents)."""
        node = ref
        while node is not None and not isinstance(node, vim.Datacenter):
            node = node.parent
        if node is None:
            raise NotFound(f"{moid(ref)} is not inside a datacenter.")
        return node

    def host_resource_pool(self, host: Any) -> Any:
        """The root resource pool of the compute resource (cluster or standalone) of a host."""
        return host.parent.resourcePool

    def create_vm(
        self,
        name: str,
        host: Any,
        datastore_name: str,
        *,
        folder: Any = None,
        resource_pool: Any = None,
        memory_mb: int = 1024,
        cpus: int = 1,
        network: Any = None,
        annotation: str = "",
        extra_config: dict[str, str] | None = None,
        guest_id: str = "otherGuest64",
        disk_kb: int = 0,
    ) -> Any:
        """Create a VM on ``host`` (optionally with one NIC on ``network`` and one thin disk).

        Returns the task; wait for it with :meth:`wait_for_tasks` (its result is the VM).
        """
        devices = []
        if network is not None:
            devices.append(self._nic_spec(network))
        if disk_kb:
            controller = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                device=vim.vm.device.VirtualLsiLogicController(
                    key=1000, busNumber=0, sharedBus="noSharing"
                ),
            )
            disk = vim.vm.device.VirtualDeviceSpec(
                operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
                fileOperation=vim.vm.device.VirtualDeviceSpec.FileOperation.create,
                device=vim.vm.device.VirtualDisk(
                    key=2000,
                    controllerKey=1000,
                    unitNumber=0,
                    capacityInKB=disk_kb,
                    backing=vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                        diskMode="persistent", thinProvisioned=True, fileName=""
                    ),
                ),
            )
            devices += [controller, disk]
        spec = vim.vm.ConfigSpec(
            name=name,
            memoryMB=memory_mb,
            numCPUs=cpus,
            guestId=guest_id,
            annotation=annotation,
            files=vim.vm.FileInfo(vmPathName=f"[{datastore_name}]"),
            deviceChange=devices,
            extraConfig=[
                vim.option.OptionValue(key=k, value=v) for k, v in (extra_config or {}).items()
            ],
        )
        folder = folder or self.datacenter_of(host).vmFolder
        pool = resource_pool or self.host_resource_pool(host)
        self.calls += 1
        return folder.CreateVM_Task(config=spec, pool=pool, host=host)

    def _nic_spec(self, network: Any) -> Any:
        if isinstance(network, vim.dvs.DistributedVirtualPortgroup):
            switch = network.config.distributedVirtualSwitch
            assert switch is not None
            backing: Any = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                port=vim.dvs.PortConnection(portgroupKey=network.key, switchUuid=switch.uuid)
            )
        else:
            backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(
                deviceName=network.name, network=network
            )
        return vim.vm.device.VirtualDeviceSpec(
            operation=vim.vm.device.VirtualDeviceSpec.Operation.add,
            device=vim.vm.device.VirtualVmxnet3(
                key=-100,
                backing=backing,
                connectable=vim.vm.device.VirtualDevice.ConnectInfo(
                    startConnected=True, allowGuestControl=True, connected=True
                ),
            ),
        )

    def power_on(self, vms: Sequence[Any]) -> list[Any]:
        """Start power-on tasks for every VM that is not on; returns the tasks."""
        on = vim.VirtualMachine.PowerState.poweredOn
        states = {
            o.moid: o["runtime.powerState"]
            for o in self.retrieve_objects(vms, ["runtime.powerState"])
        }
        tasks = [vm.PowerOnVM_Task() for vm in vms if states.get(moid(vm)) != on]
        self.calls += len(tasks)
        return tasks

    def power_off(self, vms: Sequence[Any]) -> list[Any]:
        """Start power-off tasks for every VM that is not off; returns the tasks."""
        off = vim.VirtualMachine.PowerState.poweredOff
        states = {
            o.moid: o["runtime.powerState"]
            for o in self.retrieve_objects(vms, ["runtime.powerState"])
        }
        tasks = [vm.PowerOffVM_Task() for vm in vms if states.get(moid(vm)) != off]
        self.calls += len(tasks)
        return tasks

    def destroy(self, vms: Sequence[Any], timeout: float = 600.0) -> None:
        """Power off (where on) and delete the VMs."""
        vms = list(vms)
        if not vms:
            return
        self.wait_for_tasks(self.power_off(vms), timeout)
        self.calls += len(vms)
        self.wait_for_tasks([vm.Destroy_Task() for vm in vms], timeout)

    def ensure_host_portgroup(
        self, host: Any, name: str, vlan_id: int = 0, vswitch: str = "vSwitch0"
    ) -> bool:
        """Add a standard port group (no uplinks of its own) to a host if it is absent.

        Returns True when it was added.
        """
        network_system = host.configManager.networkSystem
        self.calls += 1
        existing = {pg.spec.name for pg in network_system.networkInfo.portgroup or []}
        if name in existing:
            return False
        spec = vim.host.PortGroup.Specification(
            name=name, vlanId=vlan_id, vswitchName=vswitch, policy=vim.host.NetworkPolicy()
        )
        self.calls += 1
        network_system.AddPortGroup(portgrp=spec)
        return True

    def host_networking(self, hosts: Sequence[Any]) -> dict[str, Any]:
        """``{host moid: vim.host.NetworkInfo}`` (vSwitches with their uplinks, port groups) of
        the given hosts, in two PropertyCollector calls."""
        systems = {
            o.moid: o["configManager.networkSystem"]
            for o in self.retrieve_objects(hosts, ["configManager.networkSystem"])
        }
        refs = [ref for ref in systems.values() if ref is not None]
        infos = {o.moid: o["networkInfo"] for o in self.retrieve_objects(refs, ["networkInfo"])}
        return {host: infos.get(moid(ref)) for host, ref in systems.items() if ref is not None}

    def add_host_vswitch(self, host: Any, name: str, num_ports: int = 128) -> None:
        """Add a standard vSwitch without uplinks to a host: no physical NIC is bridged, so its
        port groups reach nothing outside the host."""
        network_system = host.configManager.networkSystem
        self.calls += 2
        network_system.AddVirtualSwitch(
            vswitchName=name, spec=vim.host.VirtualSwitch.Specification(numPorts=num_ports)
        )

    # -- custom attributes ------------------------------------------------------------------
    def custom_field_keys(self) -> dict[str, int]:
        """``{custom attribute name: key}`` for every custom attribute defined in vCenter."""
        manager = self.content.customFieldsManager
        self.calls += 1
        return {f.name: f.key for f in manager.field or []}

    def ensure_custom_field(self, name: str, managed_type: Any) -> int:
        """The key of a custom attribute for objects of ``managed_type``, defined if absent."""
        keys = self.custom_field_keys()
        if name in keys:
            return keys[name]
        self.calls += 1
        field_def = self.content.customFieldsManager.AddCustomFieldDef(
            name=name, moType=managed_type
        )
        return int(field_def.key)

    def set_custom_value(self, entity: Any, name: str, value: str) -> None:
        self.calls += 1
        self.content.customFieldsManager.SetField(
            entity=entity, key=self.ensure_custom_field(name, type(entity)), value=value
        )

    # -- several object types at once --------------------------------------------------------
    def retrieve_many(
        self,
        specs: Sequence[tuple[Any, Sequence[str]]],
        container: Any = None,
        page_size: int = 1000,
    ) -> dict[Any, list[ManagedObject]]:
        """Objects of several types with their properties in one RetrievePropertiesEx (plus
        continuation pages) over one container view: ``{obj_type: [objects]}``.

        ``specs`` pairs each managed type with the properties to read; an object is filed under
        the first listed type it is an instance of (a DistributedVirtualPortgroup under
        ``vim.Network`` when that is listed).
        """
        specs = list(specs)
        if not specs:
            return {}
        view = self.content.viewManager.CreateContainerView(
            container or self.content.rootFolder, [obj_type for obj_type, _ in specs], True
        )
        self.calls += 1
        try:
            traversal = vmodl.query.PropertyCollector.TraversalSpec(
                name="view", path="view", skip=False, type=vim.view.ContainerView
            )
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[
                    vmodl.query.PropertyCollector.ObjectSpec(
                        obj=view, skip=True, selectSet=[traversal]
                    )
                ],
                propSet=[
                    vmodl.query.PropertyCollector.PropertySpec(
                        type=obj_type, pathSet=list(properties), all=False
                    )
                    for obj_type, properties in specs
                ],
            )
            objects = self._retrieve_spec(spec, page_size)
        finally:
            view.DestroyView()
            self.calls += 1
        result: dict[Any, list[ManagedObject]] = {obj_type: [] for obj_type, _ in specs}
        for obj in objects:
            for obj_type, _ in specs:
                if isinstance(obj.ref, obj_type):
                    result[obj_type].append(obj)
                    break
        return result

    def reconfigure_vm(
        self,
        vm: Any,
        *,
        memory_mb: int | None = None,
        cpus: int | None = None,
        extra_config: dict[str, str] | None = None,
    ) -> Any:
        """Start a reconfiguration of a VM's memory, CPUs and/or extraConfig keys; returns the
        task (an empty value removes an extraConfig key)."""
        changes: dict[str, Any] = {}
        if memory_mb is not None:
            changes["memoryMB"] = memory_mb
        if cpus is not None:
            changes["numCPUs"] = cpus
        if extra_config:
            changes["extraConfig"] = [
                vim.option.OptionValue(key=k, value=v) for k, v in extra_config.items()
            ]
        spec = vim.vm.ConfigSpec(**changes)
        self.calls += 1
        return vm.ReconfigVM_Task(spec=spec)


def custom_values(obj: ManagedObject, field_keys: dict[str, int]) -> dict[str, str]:
    """The custom attribute values of a retrieved object, by attribute name.

    vcsim appends on ``SetField`` instead of replacing, so the last value of a key wins.
    """
    names = {key: name for name, key in field_keys.items()}
    values: dict[str, str] = {}
    for item in obj["customValue"] or []:
        if item.key in names:
            values[names[item.key]] = item.value
    return values


def fault_message(fault: Any) -> str:
    """A readable message for a vmodl fault."""
    if fault is None:
        return "unknown error"
    message = getattr(fault, "msg", None) or getattr(fault, "localizedMessage", None)
    if not message and getattr(fault, "faultMessage", None):
        message = "; ".join(m.message for m in fault.faultMessage if m.message)
    return message or type(fault).__name__
