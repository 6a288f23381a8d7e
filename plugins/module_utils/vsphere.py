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
import hashlib
import http.client
import re
import ssl
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from xml.etree import ElementTree

from ansible_collections.vmrepl.core.plugins.module_utils.errors import (
    AuthenticationFailed,
    ConfigurationError,
    ConnectionFailed,
    NotFound,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.wait import poll_until

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
                hint="Check the vCenter username and password (vault or the VMWARE_* variables).",
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


# -- OVF / OVA import ---------------------------------------------------------------------------
# Read a package (an .ovf with its files beside it, or an .ova tar), CreateImportSpec, ImportVApp,
# upload every file over the NFC lease (TLS verified like the SOAP connection), complete the lease
# or abort it (and remove the half-imported VM), then read -> compare -> act for a VM deployed
# from an OVF. OVF property values may be credentials: they are never logged nor put in messages.

_OVF_NS = "{http://schemas.dmtf.org/ovf/envelope/1}"
_UPLOAD_CHUNK = 1024 * 1024
_LEASE_PROGRESS_INTERVAL = 5.0
_SECRET_KEY = re.compile(r"pass|pwd|secret|token|credential|private.?key", re.IGNORECASE)
#: The VM properties reported for an OVF-deployed VM.
OVF_VM_PROPERTIES = (
    "name",
    "runtime.powerState",
    "runtime.host",
    "datastore",
    "config.instanceUuid",
    "guest.ipAddress",
    "guest.toolsRunningStatus",
)

T = TypeVar("T")


@dataclass(frozen=True)
class OvfFile:
    """One entry of the descriptor's References section."""

    id: str
    href: str
    size: int | None = None
    compression: str | None = None


@dataclass(frozen=True)
class OvfProperty:
    """One ProductSection property; ``key`` is qualified (``class.key.instance``) as vSphere
    expects it in a property mapping."""

    key: str
    type: str = "string"
    password: bool = False
    default: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class OvfDescriptor:
    name: str | None
    files: tuple[OvfFile, ...]
    networks: tuple[str, ...]
    properties: tuple[OvfProperty, ...]

    @property
    def password_keys(self) -> frozenset[str]:
        return frozenset(p.key for p in self.properties if p.password)


def parse_ovf(text: str) -> OvfDescriptor:
    """The parts of an OVF descriptor that an import needs: files, networks, properties."""
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - the operator's own package, not remote input
    except ElementTree.ParseError as exc:
        raise ConfigurationError(f"The OVF descriptor is not valid XML: {exc}.") from exc
    if root.tag != f"{_OVF_NS}Envelope":
        raise ConfigurationError("The file is not an OVF descriptor (no ovf:Envelope).")

    def attr(element: Any, name: str) -> str | None:
        return element.get(f"{_OVF_NS}{name}")

    files = []
    for item in root.iterfind(f"{_OVF_NS}References/{_OVF_NS}File"):
        size = attr(item, "size")
        files.append(
            OvfFile(
                id=attr(item, "id") or "",
                href=attr(item, "href") or "",
                size=int(size) if size else None,
                compression=attr(item, "compression"),
            )
        )
    networks = tuple(
        attr(n, "name") or "" for n in root.iterfind(f".//{_OVF_NS}NetworkSection/{_OVF_NS}Network")
    )
    properties = []
    for section in root.iter(f"{_OVF_NS}ProductSection"):
        cls, instance = attr(section, "class"), attr(section, "instance")
        for prop in section.iterfind(f"{_OVF_NS}Property"):
            key = ".".join(part for part in (cls, attr(prop, "key"), instance) if part)
            properties.append(
                OvfProperty(
                    key=key,
                    type=attr(prop, "type") or "string",
                    password=(attr(prop, "password") or "").lower() == "true",
                    default=attr(prop, "value"),
                    label=prop.findtext(f"{_OVF_NS}Label"),
                )
            )
    name = root.findtext(f"{_OVF_NS}VirtualSystem/{_OVF_NS}Name")
    return OvfDescriptor(name, tuple(files), networks, tuple(properties))


def parse_manifest(text: str) -> dict[str, tuple[str, str]]:
    """``{file name: (hash algorithm, hex digest)}`` from an OVF manifest (``SHA256(f)= hex``)."""
    entries: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\s*(SHA1|SHA256|SHA512)\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*", line)
        if match:
            entries[match.group(2)] = (match.group(1).lower(), match.group(3).lower())
    return entries


def check_href(href: str) -> str:
    """A package file name, refused when it would leave the package (absolute, ``..``, URL)."""
    parts = PurePosixPath(href).parts
    if not href or "://" in href or PurePosixPath(href).is_absolute() or ".." in parts:
        raise ConfigurationError(
            f"The OVF references {href!r}, which is outside the package.",
            hint="Only files inside the OVF's folder or the OVA are imported.",
        )
    return str(PurePosixPath(*parts))


def looks_secret(key: str) -> bool:
    """Whether an OVF property name suggests a credential (its value is then never shown)."""
    return bool(_SECRET_KEY.search(key))


def mask_properties(properties: Mapping[str, str], secret_keys: Iterable[str]) -> dict[str, str]:
    """The properties to show: values of secret or credential-like keys replaced."""
    secret = set(secret_keys)
    return {
        key: "********" if key in secret or looks_secret(key) else value
        for key, value in sorted(properties.items())
    }


def check_properties(descriptor: OvfDescriptor, given: Mapping[str, str]) -> None:
    """Refuse property keys that the OVF does not declare (names only: values may be secret)."""
    known = {p.key for p in descriptor.properties}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ConfigurationError(
            f"The OVF declares no propert{'y' if len(unknown) == 1 else 'ies'} "
            f"{', '.join(unknown)}.",
            hint=f"Its properties are: {', '.join(sorted(known)) or 'none'}.",
        )


def nfc_url(url: str, hostname: str, port: int) -> str:
    """An NFC device URL made usable: a ``*`` host (vcsim; some vCenters) becomes the vCenter's
    host and port."""
    parts = urlsplit(url)
    if parts.hostname != "*":
        return url
    host = f"[{hostname}]" if ":" in hostname else hostname
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))


@dataclass(frozen=True)
class Upload:
    """One file of the package to send to one NFC device URL."""

    href: str
    url: str
    size: int
    disk: bool
    create: bool


def files_to_upload(
    file_items: Iterable[Any], device_urls: Iterable[Any], hostname: str, port: int
) -> list[Upload]:
    """Pair the import spec's file items with the lease's device URLs (``deviceId`` ==
    ``importKey``): the files to upload, in the import spec's order. A file item without a URL
    means the lease does not match the spec: refused rather than half-imported."""
    urls = {d.importKey: d for d in device_urls}
    uploads = []
    for item in file_items:
        device = urls.get(item.deviceId)
        if device is None:
            raise TaskFailed(
                f"vCenter's import lease has no upload URL for {item.path} ({item.deviceId})."
            )
        uploads.append(
            Upload(
                href=check_href(item.path),
                url=nfc_url(device.url, hostname, port),
                size=int(item.size or 0),
                disk=bool(device.disk),
                create=bool(item.create),
            )
        )
    return uploads


class OvfPackage:
    """An OVF package on disk: a descriptor file with its files beside it, or an OVA (tar)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._tar: tarfile.TarFile | None = None
        self._members: dict[str, tarfile.TarInfo] = {}
        if not self.path.is_file():
            raise ConfigurationError(f"No OVF or OVA file at {self.path}.")
        if tarfile.is_tarfile(self.path):
            self._tar = tarfile.open(self.path, "r:")  # noqa: SIM115 - closed by close()
            for member in self._tar.getmembers():
                if member.isfile():
                    self._members[str(PurePosixPath(member.name))] = member
            names = [n for n in self._members if n.endswith(".ovf")]
            if not names:
                self.close()
                raise ConfigurationError(f"{self.path} is a tar file without an .ovf descriptor.")
            self.descriptor_name = names[0]
        else:
            self.descriptor_name = self.path.name
        self.descriptor_text = self.read(self.descriptor_name).decode("utf-8-sig")
        self.descriptor = parse_ovf(self.descriptor_text)
        for ovf_file in self.descriptor.files:
            if ovf_file.compression or ovf_file.href.endswith(".gz"):
                raise ConfigurationError(
                    f"{ovf_file.href} is compressed or chunked in the package; not supported.",
                    hint="Repack the OVA without compression (ovftool --compress=0).",
                )
            self.size(check_href(ovf_file.href))  # every referenced file is there
        # The manifest: the OVA's .mf, or the .mf named like the .ovf beside it.
        if self._tar is not None:
            manifests = [n for n in self._members if n.endswith(".mf")]
        else:
            manifests = [self.path.with_suffix(".mf").name]
            manifests = [n for n in manifests if self._local(n).is_file()]
        self.manifest = parse_manifest(self.read(manifests[0]).decode()) if manifests else {}
        self.verify(self.descriptor_name, self.read(self.descriptor_name))

    def _local(self, href: str) -> Path:
        return self.path.parent / check_href(href)

    def size(self, href: str) -> int:
        if self._tar is not None:
            member = self._members.get(check_href(href))
            if member is None:
                raise ConfigurationError(f"{self.path} does not contain {href}.")
            return member.size
        local = self._local(href)
        if not local.is_file():
            raise ConfigurationError(
                f"{href}, referenced by the OVF, is not in {self.path.parent}."
            )
        return local.stat().st_size

    @contextlib.contextmanager
    def open(self, href: str) -> Iterator[IO[bytes]]:
        self.size(href)
        if self._tar is not None:
            stream = self._tar.extractfile(self._members[check_href(href)])
            assert stream is not None
            with stream:
                yield stream
        else:
            with self._local(href).open("rb") as local:
                yield local

    def read(self, href: str) -> bytes:
        with self.open(href) as stream:
            return stream.read()

    def hasher(self, href: str) -> Any:
        """A hash object for the file's manifest entry, or None when the manifest has none."""
        entry = self.manifest.get(check_href(href))
        return hashlib.new(entry[0]) if entry else None

    def verify(self, href: str, data_or_hash: Any) -> None:
        """Refuse a file whose digest differs from the manifest's."""
        entry = self.manifest.get(check_href(href))
        if entry is None:
            return
        digest = (
            hashlib.new(entry[0], data_or_hash).hexdigest()
            if isinstance(data_or_hash, bytes)
            else data_or_hash.hexdigest()
        )
        if digest != entry[1]:
            raise ConfigurationError(
                f"{href} in {self.path} does not match its manifest ({entry[0].upper()}).",
                hint="The package is corrupt or altered: download it again from the vendor.",
            )

    def close(self) -> None:
        if self._tar is not None:
            self._tar.close()
            self._tar = None

    def __enter__(self) -> OvfPackage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class OvfImportTarget:
    """Where an OVF goes: references resolved in vCenter."""

    resource_pool: Any
    datastore: Any
    folder: Any
    host: Any = None
    network_mapping: Mapping[str, Any] = field(default_factory=dict)


def import_ovf(
    client: VSphereClient,
    package: OvfPackage,
    name: str,
    target: OvfImportTarget,
    properties: Mapping[str, str] | None = None,
    *,
    on_progress: Callable[[int], None] | None = None,
    lease_timeout: float = 300.0,
) -> Any:
    """Import ``package`` as VM ``name`` and return the VM reference.

    CreateImportSpec (with the network mapping and OVF properties), ImportVApp, then every file
    over the NFC lease with progress reported to vCenter and to ``on_progress(percent)``, then
    HttpNfcLeaseComplete. On any failure the lease is aborted and the VM removed."""
    properties = dict(properties or {})
    check_properties(package.descriptor, properties)
    params = vim.OvfManager.CreateImportSpecParams(
        entityName=name,
        diskProvisioning="thin",
        networkMapping=[
            vim.OvfManager.NetworkMapping(name=ovf_name, network=network)
            for ovf_name, network in target.network_mapping.items()
        ],
        propertyMapping=[vim.KeyValue(key=k, value=v) for k, v in properties.items()],
    )
    if target.host is not None:
        params.hostSystem = target.host
    client.calls += 1
    result = client.content.ovfManager.CreateImportSpec(
        ovfDescriptor=package.descriptor_text,
        resourcePool=target.resource_pool,
        datastore=target.datastore,
        cisp=params,
    )
    if result.error:
        raise ConfigurationError(
            f"vCenter cannot import {package.path.name}: "
            + "; ".join(fault_message(e) for e in result.error)
        )
    client.calls += 1
    lease = target.resource_pool.ImportVApp(
        spec=result.importSpec, folder=target.folder, host=target.host
    )
    entity = None
    try:
        info = _wait_lease_ready(client, lease, lease_timeout)
        entity = info.entity  # read now: vcsim forgets the lease once it is complete
        uploads = files_to_upload(
            result.fileItem or [], info.deviceUrl or [], client.params.hostname, client.params.port
        )
        _upload_files(client, lease, package, uploads, on_progress)
        client.calls += 1
        lease.HttpNfcLeaseComplete()
    except BaseException as exc:
        _abort_import(client, lease, entity, exc)
        raise
    return entity


def _wait_lease_ready(client: VSphereClient, lease: Any, timeout: float) -> Any:
    initializing = vim.HttpNfcLease.State.initializing

    def ready() -> Any:
        obj = client.retrieve_objects([lease], ["state", "error", "info"])[0]
        if obj["state"] == vim.HttpNfcLease.State.error:
            raise TaskFailed(f"vCenter could not start the import: {fault_message(obj['error'])}")
        return None if obj["state"] == initializing else obj["info"]

    return poll_until(
        ready,
        timeout=timeout,
        interval=0.5,
        timeout_error=lambda: TaskTimeout(
            f"vCenter's import lease was not ready within {timeout:.0f} s."
        ),
    )


def _upload_files(
    client: VSphereClient,
    lease: Any,
    package: OvfPackage,
    uploads: Sequence[Upload],
    on_progress: Callable[[int], None] | None,
) -> None:
    total = sum(package.size(u.href) for u in uploads) or 1
    state = {"sent": 0, "percent": -1, "reported": 0.0}

    def sent(count: int) -> None:
        state["sent"] += count
        percent = min(100, int(state["sent"] * 100 // total))
        if percent != state["percent"]:
            state["percent"] = percent
            if on_progress is not None:
                on_progress(percent)
        now = time.monotonic()
        if now - state["reported"] >= _LEASE_PROGRESS_INTERVAL:
            state["reported"] = now  # also keeps the lease from timing out
            client.calls += 1
            lease.HttpNfcLeaseProgress(percent=percent)

    for upload in uploads:
        _upload_one(client, package, upload, sent)
    client.calls += 1
    lease.HttpNfcLeaseProgress(percent=100)


def _upload_one(
    client: VSphereClient, package: OvfPackage, upload: Upload, sent: Callable[[int], None]
) -> None:
    parts = urlsplit(upload.url)
    where = f"{parts.hostname}:{parts.port or 443}"
    connection = http.client.HTTPSConnection(
        parts.hostname or "",
        parts.port or 443,
        context=client.params.ssl_context(),
        timeout=client.params.timeout,
    )
    hasher = package.hasher(upload.href)
    try:
        size = package.size(upload.href)
        path = urlunsplit(parts._replace(scheme="", netloc=""))
        connection.putrequest("PUT" if upload.create else "POST", path)
        connection.putheader(
            "Content-Type",
            "application/x-vnd.vmware-streamVmdk" if upload.disk else "application/octet-stream",
        )
        connection.putheader("Content-Length", str(size))
        cookie = getattr(client.si._stub, "cookie", None)
        if cookie and parts.hostname == client.params.hostname:
            connection.putheader("Cookie", cookie)  # an upload through the vCenter itself
        connection.endheaders()
        with package.open(upload.href) as stream:
            while chunk := stream.read(_UPLOAD_CHUNK):
                connection.send(chunk)
                if hasher is not None:
                    hasher.update(chunk)
                sent(len(chunk))
        response = connection.getresponse()
        response.read()
        if not 200 <= response.status < 300:
            raise TaskFailed(
                f"Uploading {upload.href} to {where} failed: "
                f"HTTP {response.status} {response.reason}."
            )
    except ssl.SSLCertVerificationError as exc:
        raise ConnectionFailed(
            f"Uploading {upload.href}: the TLS certificate of {where} could not be verified "
            f"({exc.verify_message}).",
            hint="Give the CA that signed the vCenter's and the hosts' certificates with ca_file.",
        ) from exc
    except OSError as exc:
        raise ConnectionFailed(f"Uploading {upload.href} to {where} failed: {exc}.") from exc
    finally:
        connection.close()
    if hasher is not None:
        package.verify(upload.href, hasher)


def _abort_import(client: VSphereClient, lease: Any, entity: Any, error: BaseException) -> None:
    """Abort the lease (vCenter then removes the VM) and remove the VM if it is still there
    (vcsim keeps it). Best effort: the original error is what the caller reports."""
    reason = type(error).__name__ if not isinstance(error, VmreplError) else error.message
    with contextlib.suppress(Exception):
        client.calls += 1
        lease.HttpNfcLeaseAbort(fault=vmodl.fault.SystemError(reason=reason[:200]))
    if entity is None:
        return
    with contextlib.suppress(Exception):
        if client.retrieve_objects([entity], ["name"]):
            client.destroy([entity])


def wait_for_vm_ip(client: VSphereClient, vm: Any, timeout: float, interval: float = 2.0) -> str:
    """The VM's IP address as VMware Tools report it, waiting up to ``timeout`` seconds."""
    seen: dict[str, Any] = {}

    def address() -> str | None:
        properties = ["name", "guest.ipAddress", "guest.toolsRunningStatus"]
        obj = client.retrieve_objects([vm], properties)[0]
        seen.update(obj.props)
        return obj["guest.ipAddress"] or None

    return poll_until(
        address,
        timeout=timeout,
        interval=interval,
        timeout_error=lambda: TaskTimeout(
            f"VM {seen.get('name')} reported no IP address within {timeout:.0f} s "
            f"(VMware Tools: {seen.get('guest.toolsRunningStatus') or 'unknown'}).",
            hint="Check its network settings and console. A simulated vCenter (vcsim) never "
            "reports one: set wait_for_ip: false there.",
        ),
    )


@dataclass(frozen=True)
class OvfVmSpec:
    """The desired state of a VM deployed from an OVF package."""

    name: str
    datacenter: str
    ovf: str | None = None
    datastore: str | None = None
    cluster: str | None = None
    host: str | None = None
    network: str | None = None
    folder: str | None = None
    properties: Mapping[str, str] = field(default_factory=dict, repr=False)
    secret_properties: frozenset[str] = frozenset()
    power_on: bool = True
    wait_for_ip: bool = True
    wait_timeout: float = 600.0


@dataclass
class OvfVmResult:
    changed: bool
    msg: str
    actions: list[str]
    vm: dict[str, Any] | None
    before: dict[str, Any]
    after: dict[str, Any]


def ensure_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    *,
    state: str = "present",
    check_mode: bool = False,
    on_progress: Callable[[int], None] | None = None,
) -> OvfVmResult:
    """Read -> compare -> act for a VM deployed from an OVF. A VM of that name in the datacenter
    counts as deployed: it is not re-imported nor reconfigured, only powered on if wanted. In
    check mode everything is resolved and validated, and nothing is changed. vCenter faults
    become :class:`VmreplError`."""
    try:
        return _ensure_ovf_vm(client, spec, state, check_mode, on_progress)
    except vmodl.MethodFault as exc:
        raise VmreplError(
            f"vCenter refused an operation for VM {spec.name}: {fault_message(exc)} "
            f"({type(exc).__name__.split('.')[-1]})."
        ) from exc


def _ensure_ovf_vm(
    client: VSphereClient,
    spec: OvfVmSpec,
    state: str,
    check_mode: bool,
    on_progress: Callable[[int], None] | None,
) -> OvfVmResult:
    datacenter = client.find_by_name(vim.Datacenter, spec.datacenter)
    existing = _find_vm(client, datacenter.ref, spec.name)
    if state == "absent":
        if existing is None:
            gone = {"name": spec.name, "state": "absent"}
            return OvfVmResult(False, f"VM {spec.name} is absent.", [], None, gone, gone)
        facts = _ovf_vm_facts(client, existing)
        if not check_mode:
            client.destroy([existing.ref])
        msg = f"{'Would remove' if check_mode else 'Removed'} VM {spec.name}."
        return OvfVmResult(
            True,
            msg,
            ["remove"],
            facts,
            _current_view(facts, spec),
            {"name": spec.name, "state": "absent"},
        )
    if existing is not None:
        return _ensure_existing(client, spec, existing, check_mode)
    return _deploy(client, spec, datacenter, check_mode, on_progress)


def _ensure_existing(
    client: VSphereClient, spec: OvfVmSpec, existing: ManagedObject, check_mode: bool
) -> OvfVmResult:
    facts = _ovf_vm_facts(client, existing)
    before = _current_view(facts, spec)
    actions = []
    if spec.power_on and facts["power_state"] != "poweredOn":
        actions.append("power on")
        if not check_mode:
            client.wait_for_tasks(client.power_on([existing.ref]))
    if spec.power_on and spec.wait_for_ip and not check_mode:
        facts["ip_address"] = wait_for_vm_ip(client, existing.ref, spec.wait_timeout)
    if actions and not check_mode:
        ip_address = facts["ip_address"]
        facts = _ovf_vm_facts(client, client.retrieve_objects([existing.ref], OVF_VM_PROPERTIES)[0])
        facts["ip_address"] = facts["ip_address"] or ip_address
    after = dict(before, power_state="poweredOn") if actions else before
    if actions:
        msg = f"{'Would power' if check_mode else 'Powered'} on VM {spec.name}, deployed before."
    else:
        msg = (
            f"VM {spec.name} is deployed already (host {facts['host']}, datastore "
            f"{before['datastore']}); nothing imported."
        )
    return OvfVmResult(bool(actions), msg, actions, facts, before, after)


def _deploy(
    client: VSphereClient,
    spec: OvfVmSpec,
    datacenter: ManagedObject,
    check_mode: bool,
    on_progress: Callable[[int], None] | None,
) -> OvfVmResult:
    if not spec.ovf or not spec.datastore or not (spec.cluster or spec.host):
        raise ConfigurationError("Deploying needs an OVF, a datastore, and a cluster or host.")
    # Resolve and validate everything before changing anything (in check mode too).
    with OvfPackage(spec.ovf) as package:
        check_properties(package.descriptor, spec.properties)
        target = _import_target(client, spec, datacenter, package.descriptor.networks)
        secret = set(spec.secret_properties) | package.descriptor.password_keys
        before = {"name": spec.name, "state": "absent"}
        after = {
            "name": spec.name,
            "state": "present",
            "ovf": str(package.path),
            "datacenter": spec.datacenter,
            **({"cluster": spec.cluster} if spec.cluster else {"host": spec.host}),
            "datastore": spec.datastore,
            "network": spec.network,
            "folder": spec.folder,
            "power_state": "poweredOn" if spec.power_on else "poweredOff",
            "properties": mask_properties(spec.properties, secret),
        }
        actions = ["import"] + (["power on"] if spec.power_on else [])
        if check_mode:
            return OvfVmResult(
                True,
                f"Would deploy VM {spec.name} from {package.path.name}.",
                actions,
                None,
                before,
                after,
            )
        vm = import_ovf(
            client, package, spec.name, target, spec.properties, on_progress=on_progress
        )
    if spec.power_on:
        client.wait_for_tasks(client.power_on([vm]))
    obj = client.retrieve_objects([vm], OVF_VM_PROPERTIES)[0]
    facts = _ovf_vm_facts(client, obj)
    if spec.power_on and spec.wait_for_ip:
        facts["ip_address"] = wait_for_vm_ip(client, vm, spec.wait_timeout)
    return OvfVmResult(
        True, f"Deployed VM {spec.name} from {Path(spec.ovf).name}.", actions, facts, before, after
    )


def _find_vm(client: VSphereClient, datacenter: Any, name: str) -> ManagedObject | None:
    found = [
        vm
        for vm in client.retrieve(vim.VirtualMachine, OVF_VM_PROPERTIES, datacenter)
        if vm["name"] == name
    ]
    if len(found) > 1:
        raise ConfigurationError(
            f"{len(found)} VMs are named {name!r} in the datacenter "
            f"({', '.join(vm.moid for vm in found)}).",
            hint="Rename or remove the extra ones; the module manages one VM per name.",
        )
    return found[0] if found else None


def _ovf_vm_facts(client: VSphereClient, vm: ManagedObject) -> dict[str, Any]:
    host = vm["runtime.host"]
    names = {
        o.moid: o["name"]
        for o in client.retrieve_objects([host] if host is not None else [], ["name"])
    }
    names.update(
        {o.moid: o["name"] for o in client.retrieve_objects(vm["datastore"] or [], ["name"])}
    )
    return {
        "name": vm["name"],
        "moid": vm.moid,
        "instance_uuid": vm["config.instanceUuid"],
        "power_state": str(vm["runtime.powerState"]),
        "host": names.get(moid(host)) if host is not None else None,
        "datastores": [names.get(moid(d)) for d in vm["datastore"] or []],
        "ip_address": vm["guest.ipAddress"],
        "tools_running_status": vm["guest.toolsRunningStatus"],
    }


def _current_view(facts: Mapping[str, Any], spec: OvfVmSpec) -> dict[str, Any]:
    return {
        "name": facts["name"],
        "state": "present",
        "datacenter": spec.datacenter,
        "host": facts["host"],
        "datastore": ", ".join(d for d in facts["datastores"] if d),
        "power_state": facts["power_state"],
    }


def _import_target(
    client: VSphereClient, spec: OvfVmSpec, datacenter: ManagedObject, networks: Sequence[str]
) -> OvfImportTarget:
    dc = datacenter.ref
    datastore = client.find_by_name(vim.Datastore, spec.datastore or "", dc)
    network = client.find_by_name(vim.Network, spec.network, dc) if spec.network else None
    host = None
    if spec.host:
        host_obj = client.retrieve_objects(
            [client.find_by_name(vim.HostSystem, spec.host, dc).ref],
            ["name", "parent", "datastore", "network"],
        )[0]
        if datastore.moid not in {moid(d) for d in host_obj["datastore"] or []}:
            raise ConfigurationError(
                f"Datastore {spec.datastore} is not mounted on host {spec.host}."
            )
        if network is not None and network.moid not in {moid(n) for n in host_obj["network"] or []}:
            raise ConfigurationError(
                f"Network {spec.network} is not available on host {spec.host}."
            )
        host = host_obj.ref
        pool = host_obj["parent"].resourcePool
    else:
        cluster = client.find_by_name(vim.ClusterComputeResource, spec.cluster or "", dc)
        pool = cluster.ref.resourcePool
    folder = _vm_folder(client, dc, spec.folder, spec.datacenter)
    mapping = {name: network.ref for name in networks} if network is not None else {}
    return OvfImportTarget(pool, datastore.ref, folder, host, mapping)


def _vm_folder(client: VSphereClient, datacenter: Any, path: str | None, dc_name: str) -> Any:
    """The VM folder at ``path`` (``a/b``, or ``/<datacenter>/vm/a/b``) below the datacenter's
    VM folder; the VM folder itself when no path is given."""
    root = datacenter.vmFolder
    parts = [p for p in (path or "").split("/") if p]
    if parts[:2] == [dc_name, "vm"]:
        parts = parts[2:]
    if not parts:
        return root
    folders = client.retrieve(vim.Folder, ["name", "parent"], root)
    node, node_id = root, moid(root)
    for part in parts:
        match = [f for f in folders if f["name"] == part and moid(f["parent"]) == node_id]
        if not match:
            raise NotFound(f"No VM folder {path!r} in datacenter {dc_name}.")
        node, node_id = match[0].ref, match[0].moid
    return node
