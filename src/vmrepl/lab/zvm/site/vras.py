"""VRAs: one Virtual Replication Appliance VM per host, ``Z-VRA-<host name>``.

The VRA list is read from vCenter: a VRA is a VM marked ``zerto.vmrepl.role = vra`` in its
extraConfig, which also holds its group, version and IP settings. Only what is happening right
now (Installing, Removing, UpdatingIpSettings) is kept in memory, so a restarted simulator finds
its VRAs again and never installs a second one on a host.

A VRA on a host in maintenance mode reports status 9 (HostInMaintenanceMode); its version is
its VM's ``vra.version`` mark, outdated when older than the site's (see ``maintenance.py``).
``POST /v1/vras/{id}/upgrade`` brings it to the site's version, and the VPGs it serves go
through a bitmap sync. ``changerecoveryvra`` (potentials, validate, execute) moves the recovery
of VMs from the VRA's host to other hosts with a running VRA.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import (
    VRA_DURING_CHANGE_HOST,
    VRA_HOST_IN_MAINTENANCE,
    VRA_INSTALLED,
    VRA_INSTALLING,
    VRA_IP_CONFIGURATION_TYPES,
    VRA_REMOVING,
    VRA_STATUSES,
    VRA_UPDATING_IP,
)
from vmrepl.lab.zvm.errors import BadRequest, NotFound, OperationFailed
from vmrepl.lab.zvm.http.binding import Fields
from vmrepl.lab.zvm.http.routing import Request
from vmrepl.lab.zvm.inventory import (
    MARK_PREFIX,
    ROLE,
    ROLE_VRA,
    HostInfo,
    Inventory,
    VmInfo,
    object_identifier,
)
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.site.maintenance import (
    EVENT_MAINTAIN_HOST,
    EVENT_UPGRADE_VRA,
    MaintenanceService,
    display_version,
)
from vmrepl.lab.zvm.site.tasks import TaskContext, TaskService
from vmrepl.lab.zvm.store import VraActivity
from vmrepl.lab.zvm.vcenter import VmSpec

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.vpgs import VpgService

GROUP = MARK_PREFIX + "vra.group"
VERSION = MARK_PREFIX + "vra.version"
IP_MODE = MARK_PREFIX + "vra.ipmode"
IP_ADDRESS = MARK_PREFIX + "vra.ip"
SUBNET_MASK = MARK_PREFIX + "vra.mask"
GATEWAY = MARK_PREFIX + "vra.gateway"
SITE = MARK_PREFIX + "site"


def vra_identifier(host_identifier: str) -> int:
    """A VRA's identifier: stable for its host (VraApi.vraIdentifier is an int64)."""
    return int(hashlib.sha256(host_identifier.encode()).hexdigest()[:12], 16)


@dataclass
class NetworkData:
    mode: str
    ip: str | None = None
    mask: str | None = None
    gateway: str | None = None

    def marks(self) -> dict[str, str]:
        return {
            IP_MODE: self.mode,
            IP_ADDRESS: self.ip or "",
            SUBNET_MASK: self.mask or "",
            GATEWAY: self.gateway or "",
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "VraIPConfigurationTypeApi": self.mode,
            "VraIPAddress": self.ip,
            "VraIPAddressRangeEnd": None,
            "SubnetMask": self.mask,
            "DefaultGateway": self.gateway,
        }


def parse_network_data(body: Fields, required: bool) -> NetworkData | None:
    """VraNetworkDataApi: Dhcp, or Static with a complete, consistent IPv4 configuration."""
    if not body.has("VraNetworkDataApi"):
        return NetworkData("Dhcp") if required else None
    data = body.obj("VraNetworkDataApi")
    mode = data.text("VraIPConfigurationTypeApi", default="Dhcp") or "Dhcp"
    names = {n.lower(): n for n in VRA_IP_CONFIGURATION_TYPES}
    if mode.lower() not in names:
        raise BadRequest(
            f"VraNetworkDataApi.VraIPConfigurationTypeApi must be Static or Dhcp, not {mode!r}."
        )
    mode = names[mode.lower()]
    if mode == "Dhcp":
        return NetworkData("Dhcp")
    ip = _ipv4(data, "VraIPAddress")
    mask = _ipv4(data, "SubnetMask")
    gateway = _ipv4(data, "DefaultGateway")
    try:
        network = ipaddress.IPv4Network(f"{ip}/{mask}", strict=False)
    except ValueError as exc:
        raise BadRequest(
            f"VraNetworkDataApi.SubnetMask {mask} is not a valid subnet mask."
        ) from exc
    if ipaddress.IPv4Address(gateway) not in network:
        raise BadRequest(
            f"VraNetworkDataApi.DefaultGateway {gateway} is not in the VRA's subnet {network}."
        )
    return NetworkData("Static", ip, mask, gateway)


def _ipv4(data: Fields, name: str) -> str:
    value = data.text(name)
    if not value:
        raise BadRequest(f"VraNetworkDataApi.{name} is required for a static IP configuration.")
    try:
        return str(ipaddress.IPv4Address(value.strip()))
    except ValueError as exc:
        raise BadRequest(f"VraNetworkDataApi.{name} {value!r} is not an IPv4 address.") from exc


@dataclass
class VraView:
    """One VRA as listed: its host, its VM (None while the install has not created it yet)."""

    identifier: int
    host: HostInfo
    vm: VmInfo | None
    status: int
    activity: VraActivity | None


class VraService:
    def __init__(
        self,
        ctx: SiteContext,
        tasks: TaskService,
        maintenance: MaintenanceService,
        vpgs: VpgService,
    ) -> None:
        self.ctx = ctx
        self.tasks = tasks
        self.maintenance = maintenance
        self.vpgs = vpgs

    # -- reading ----------------------------------------------------------------------------
    def views(self, inv: Inventory | None = None) -> tuple[Inventory, list[VraView]]:
        inv = inv or self.ctx.backend.inventory()
        by_host: dict[str, VmInfo] = {}
        for vm in inv.vms_with_role(ROLE_VRA):
            if vm.host and vm.host not in by_host:
                by_host[vm.host] = vm
        with self.ctx.store.lock:
            activity = dict(self.ctx.store.vra_activity)
        views = []
        for moref in sorted(set(by_host) | set(activity), key=_natural):
            host = inv.hosts.get(moref)
            if host is None:
                continue
            act = activity.get(moref)
            if act:
                status = act.status
            else:
                status = VRA_HOST_IN_MAINTENANCE if host.maintenance else VRA_INSTALLED
            views.append(
                VraView(
                    vra_identifier(str(inv.ident(moref))), host, by_host.get(moref), status, act
                )
            )
        return inv, views

    def find(self, identifier: str) -> tuple[Inventory, VraView]:
        inv, views = self.views()
        for view in views:
            if str(view.identifier) == identifier:
                return inv, view
        raise NotFound(f"VRA {identifier} was not found.")

    def installed_hosts(self) -> list[str]:
        inv, views = self.views()
        return [
            str(inv.ident(v.host.moref))
            for v in views
            if v.status == VRA_INSTALLED and v.vm is not None
        ]

    # -- changing ---------------------------------------------------------------------------
    def install(self, request: Request) -> str:
        self.ctx.require_license("installing a VRA")
        body = request.fields()
        inv = self.ctx.backend.inventory()
        host_id = body.require_text("HostIdentifier")
        host = inv.host(host_id)
        if host is None:
            raise BadRequest(f"Host {host_id} was not found at site {self.ctx.config.site_name}.")
        datastore_id = body.require_text("DatastoreIdentifier")
        datastore = inv.datastore(datastore_id)
        if datastore is None:
            raise BadRequest(f"Datastore {datastore_id} was not found.")
        if datastore.moref not in host.datastores:
            raise BadRequest(f"Datastore {datastore.name} is not accessible from host {host.name}.")
        network_id = body.require_text("NetworkIdentifier")
        network = inv.network(network_id)
        if network is None:
            raise BadRequest(f"Network {network_id} was not found.")
        if network.moref not in host.networks:
            raise BadRequest(f"Network {network.name} is not available on host {host.name}.")
        memory = body.integer("MemoryInGb", default=3, low=1, high=16)
        cpus = body.integer("NumOfCpus", default=1, low=1, high=4)
        group = body.text("GroupName") or "default_group"
        network_data = parse_network_data(body, required=True)
        assert network_data is not None and memory is not None and cpus is not None
        if not body.boolean("UsePublicKeyInsteadOfCredentials", default=False) and not body.text(
            "HostRootPassword"
        ):
            raise BadRequest(
                "HostRootPassword is required unless UsePublicKeyInsteadOfCredentials is true."
            )
        fails = self.ctx.faults.vra_install_fails(host.name, host_id)
        with self.ctx.store.lock:
            _, views = self.views(inv)
            for view in views:
                if view.host.moref == host.moref:
                    raise BadRequest(f"A VRA is already installed on host {host.name}.")
            spec = VmSpec(
                name=f"Z-VRA-{host.name}",
                host=host.moref,
                datastore=datastore.moref,
                pool=host.pool,
                folder=inv.vm_folder,
                network=network.moref,
                memory_mb=memory * 1024,
                cpus=cpus,
                marks={
                    ROLE: ROLE_VRA,
                    GROUP: group,
                    VERSION: self.maintenance.version,
                    SITE: self.ctx.site_identifier,
                    **network_data.marks(),
                },
            )
            morefs = self.ctx.backend.create_vms([spec])

            def work(ctx: TaskContext) -> None:
                ctx.wait(0.8)
                if fails:
                    self.ctx.backend.destroy(morefs)
                    raise OperationFailed(
                        f"Failed to install the VRA on host {host.name}: the host refused the "
                        "VRA deployment (injected fault)."
                    )
                self.ctx.backend.power_on(morefs)

            task = self.tasks.start(
                "InstallVra",
                "vra_install",
                self._finishing(host.moref, work),
                initiated_by=request.principal,
                hosts=[host_id],
            )
            self.ctx.store.vra_activity[host.moref] = VraActivity(host.moref, VRA_INSTALLING, task)
        return task

    def _finishing(self, host_moref: str, work: Any) -> Any:
        """Wrap a task's work so that the host's VRA activity ends with the task."""

        def run(ctx: TaskContext) -> None:
            try:
                work(ctx)
                ctx.wait(1.0)
            finally:
                with self.ctx.store.lock:
                    self.ctx.store.vra_activity.pop(host_moref, None)

        return run

    def _start_activity(
        self, request: Request, view: VraView, status: int, task_type: str, kind: str, work: Any
    ) -> str:
        moref = view.host.moref
        with self.ctx.store.lock:
            current = self.ctx.store.vra_activity.get(moref)
            if current is not None or view.vm is None:
                state = VRA_STATUSES[current.status] if current else "Installing"
                raise BadRequest(f"The VRA on host {view.host.name} is busy ({state}).")
            task = self.tasks.start(
                task_type,
                kind,
                self._finishing(moref, work),
                initiated_by=request.principal,
                hosts=[object_identifier(self.ctx.server_id, moref)],
            )
            self.ctx.store.vra_activity[moref] = VraActivity(moref, status, task)
        return task

    def edit(self, request: Request, identifier: str) -> str:
        _, view = self.find(identifier)
        body = request.fields()
        memory = body.integer("MemoryInGb", low=1, high=16)
        cpus = body.integer("NumOfCpus", low=1, high=4)
        group = body.text("GroupName")
        network_data = parse_network_data(body, required=False)
        marks = network_data.marks() if network_data else {}
        if group:
            marks[GROUP] = group

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            if view.vm is not None:
                self.ctx.backend.reconfigure(
                    view.vm.moref,
                    memory_mb=memory * 1024 if memory else None,
                    cpus=cpus,
                    marks=marks or None,
                )

        return self._start_activity(request, view, VRA_UPDATING_IP, "EditVra", "vra_edit", work)

    def upgrade(self, request: Request, identifier: str) -> str:
        inv, view = self.find(identifier)
        host_id = str(inv.ident(view.host.moref))
        target = self.maintenance.version
        # A VRA already at the site's version is upgraded all the same (reinstalled at it):
        # whether a real ZVM refuses that was not found.
        if view.host.maintenance or (view.vm is not None and not view.vm.powered_on):
            raise BadRequest(
                f"The VRA on host {view.host.name} is not running "
                f"({'the host is in maintenance mode' if view.host.maintenance else 'powered off'})"
                ": power it on before upgrading it."
            )
        fails = self.ctx.faults.vra_upgrade_fails(view.host.name, host_id)
        served = self.maintenance.served_by(inv, view.host.moref)
        label = f"VRA {view.vm.name if view.vm else view.host.name}"

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            if fails:
                self.maintenance.event(
                    EVENT_UPGRADE_VRA,
                    f"Upgrade of {label} to {target} failed (injected fault).",
                    success=False,
                    user=request.principal,
                    hosts=[host_id],
                )
                raise OperationFailed(
                    f"Failed to upgrade the VRA on host {view.host.name} to {target}: the VRA "
                    "did not come back after its update (injected fault)."
                )
            # The VRA restarts with the new version: the VPGs it serves catch up with a bitmap
            # sync (Zerto 5.5, "Site Specific Considerations when Upgrading VRAs").
            end = ctx.record.started + ctx.record.duration
            bitmap = self.ctx.faults.task_seconds("bitmap_sync")
            self.maintenance.start_bitmap_sync(served, max(end, clock.now()) + bitmap)
            if view.vm is not None:
                self.ctx.backend.reconfigure(view.vm.moref, marks={VERSION: target})
            self.maintenance.event(
                EVENT_UPGRADE_VRA,
                f"{label} was upgraded to {target}.",
                user=request.principal,
                vpgs=[v.identifier for v in served],
                hosts=[host_id],
            )

        return self._start_activity(
            request, view, VRA_INSTALLING, "UpgradeVra", "vra_upgrade", work
        )

    # -- change recovery VRA ----------------------------------------------------------------
    def _recovering_vms(self, inv: Inventory, view: VraView) -> dict[str, Any]:
        """The VMs that recover to this VRA's host: VM identifier → its VPG record."""
        host_id = inv.ident(view.host.moref)
        found = {}
        me = self.ctx.site_identifier
        for vpg in self.ctx.store.live_vpgs():
            if vpg.recovery_site != me:
                continue
            default = (vpg.settings.get("Recovery") or {}).get("DefaultHostIdentifier")
            per_vm = {
                e.get("VmIdentifier"): (e.get("Recovery") or {}).get("HostIdentifier")
                for e in vpg.settings.get("Vms") or []
            }
            for vm in vpg.vms:
                if (per_vm.get(vm.vm) or default) == host_id:
                    found[vm.vm] = vpg
        return found

    def _potential_hosts(self, inv: Inventory, view: VraView) -> list[VraView]:
        """Hosts whose VRA runs (not this one, not in maintenance, idle or not)."""
        _, views = self.views(inv)
        return [
            v
            for v in views
            if v.host.moref != view.host.moref
            and v.vm is not None
            and v.vm.powered_on
            and not v.host.maintenance
            and v.status in (VRA_INSTALLED, VRA_DURING_CHANGE_HOST)
        ]

    def change_potentials(self, request: Request, identifier: str) -> list[dict[str, Any]]:
        inv, view = self.find(identifier)
        vm_id = request.query.get("vmidentifier")
        vms = self._recovering_vms(inv, view)
        if vm_id and vm_id not in vms:
            raise BadRequest(f"VM {vm_id} does not recover to the VRA on host {view.host.name}.")
        return [
            {"HostIdentifier": inv.ident(v.host.moref), "HostName": v.host.name}
            for v in self._potential_hosts(inv, view)
        ]

    def _validate_allocations(
        self, request: Request, inv: Inventory, view: VraView
    ) -> tuple[list[tuple[str, str, Any]], list[dict[str, Any]]]:
        body = request.json()
        allocations = (body or {}).get("VmsAllocations") if isinstance(body, dict) else None
        if allocations is None and isinstance(body, dict):
            allocations = body.get("vmsAllocations")
        if not isinstance(allocations, list) or not allocations:
            raise BadRequest(
                "VmsAllocations must list at least one {VmIdentifier, HostIdentifier}."
            )
        vms = self._recovering_vms(inv, view)
        potentials = {str(inv.ident(v.host.moref)) for v in self._potential_hosts(inv, view)}
        accepted: list[tuple[str, str, Any]] = []
        results = []
        for raw in allocations:
            entry = {k.lower(): v for k, v in raw.items()} if isinstance(raw, dict) else {}
            vm_id = str(entry.get("vmidentifier") or "")
            host_id = str(entry.get("hostidentifier") or "")
            reason = None
            if not vm_id or not host_id:
                reason = "VmIdentifier and HostIdentifier are required."
            elif vm_id not in vms:
                reason = f"VM {vm_id} does not recover to the VRA on host {view.host.name}."
            elif vms[vm_id].operation is not None:
                reason = f"VPG {vms[vm_id].name} is in a {vms[vm_id].operation.kind}."
            elif host_id not in potentials:
                host = inv.host(host_id)
                reason = (
                    f"Host {host.name if host else host_id} has no running VRA that can take the "
                    "recovery (not installed, powered off or in maintenance mode)."
                )
            results.append(
                {
                    "VmIdentifier": vm_id or None,
                    "HostIdentifier": host_id or None,
                    # VraChangeRecoveryHostVmStatusApi: 0 valid, 2 invalid (names not found)
                    "Status": 0 if reason is None else 2,
                    "Reason": reason,
                }
            )
            if reason is None:
                accepted.append((vm_id, host_id, vms[vm_id]))
        return accepted, results

    def change_validate(self, request: Request, identifier: str) -> dict[str, Any]:
        inv, view = self.find(identifier)
        _, results = self._validate_allocations(request, inv, view)
        return {"VmsValidationsResults": results}

    def change_execute(self, request: Request, identifier: str) -> str:
        inv, view = self.find(identifier)
        accepted, results = self._validate_allocations(request, inv, view)
        refused = [r for r in results if r["Status"] != 0]
        if refused:
            raise BadRequest(
                "The recovery VRA cannot be changed: "
                + "; ".join(f"{r['VmIdentifier']}: {r['Reason']}" for r in refused)
            )
        old_host = str(inv.ident(view.host.moref))
        names = {h.moref: h.name for h in inv.hosts.values()}

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            by_vpg: dict[str, list[tuple[str, str]]] = {}
            for vm_id, host_id, vpg in accepted:
                by_vpg.setdefault(vpg.identifier, []).append((vm_id, host_id))
            for vpg_id, moves in by_vpg.items():
                with self.ctx.store.lock:
                    record = self.ctx.store.vpgs.get(vpg_id)
                    if record is None or record.deleted:
                        continue
                    _move_recovery(record.settings, old_host, dict(moves))
                self.vpgs.save(record)
                self.maintenance.event(
                    EVENT_MAINTAIN_HOST,
                    f"The recovery of {len(moves)} VM(s) of VPG {record.name} moved from host "
                    f"{view.host.name} to "
                    + ", ".join(sorted({names.get(inv.moref(h) or "", h) for _, h in moves}))
                    + ".",
                    user=request.principal,
                    vpgs=[vpg_id],
                    hosts=[old_host],
                )

        return self._start_activity(
            request, view, VRA_DURING_CHANGE_HOST, "ChangeRecoveryHost", "vra_change_host", work
        )

    def uninstall(self, request: Request, identifier: str) -> str:
        inv, view = self.find(identifier)
        protected, recovery = self.counters(inv, view)
        if protected["Vms"] or recovery["Vpgs"]:
            raise BadRequest(
                f"The VRA on host {view.host.name} cannot be removed: it serves "
                f"{protected['Vms']} protected VM(s) and {recovery['Vpgs']} recovering VPG(s)."
            )

        def work(ctx: TaskContext) -> None:
            ctx.wait(0.5)
            if view.vm is not None:
                self.ctx.backend.destroy([view.vm.moref])

        return self._start_activity(
            request, view, VRA_REMOVING, "UninstallVra", "vra_uninstall", work
        )

    # -- JSON -------------------------------------------------------------------------------
    def counters(self, inv: Inventory, view: VraView) -> tuple[dict[str, int], dict[str, int]]:
        host_id = inv.ident(view.host.moref)
        protected = {"Vpgs": 0, "Vms": 0, "Volumes": 0}
        recovery = {"Vpgs": 0, "Vms": 0, "Volumes": 0}
        me = self.ctx.site_identifier
        for vpg in self.ctx.store.live_vpgs():
            if vpg.protected_site == me:
                vms = [vm for vm in vpg.vms if vm.host == host_id]
                if vms:
                    protected["Vpgs"] += 1
                    protected["Vms"] += len(vms)
                    protected["Volumes"] += sum(max(1, len(vm.volumes)) for vm in vms)
            if vpg.recovery_site == me and self.vpgs.recovery_hosts(vpg) & {host_id}:
                recovery["Vpgs"] += 1
                recovery["Vms"] += len(vpg.vms)
                recovery["Volumes"] += sum(max(1, len(vm.volumes)) for vm in vpg.vms)
        return protected, recovery

    def to_json(self, inv: Inventory, view: VraView) -> dict[str, Any]:
        vm = view.vm
        marks = vm.marks if vm else {}
        datastore = inv.datastores.get(vm.datastores[0]) if vm and vm.datastores else None
        network = inv.networks.get(vm.networks[0]) if vm and vm.networks else None
        mode = marks.get(IP_MODE) or "Dhcp"
        network_data = NetworkData(
            mode,
            marks.get(IP_ADDRESS) or None,
            marks.get(SUBNET_MASK) or None,
            marks.get(GATEWAY) or None,
        )
        protected, recovery = self.counters(inv, view)
        version = marks.get(VERSION) or self.maintenance.version
        progress = 0
        if view.activity is not None:
            task = self.ctx.store.tasks.get(view.activity.task)
            progress = self.tasks.to_json(task)["Status"]["Progress"] if task else 0
        return {
            "Link": link(self.ctx.url, "vras", str(view.identifier), "VraApi"),
            "VraIdentifier": view.identifier,
            "VraName": vm.name if vm else f"Z-VRA-{view.host.name}",
            "Status": view.status,
            # VraAndDriverUpgradeStatusApi: 0 current, 1 an upgrade is available (inferred:
            # the names of 0-7 were not found)
            "UpgradeStatus": 1 if self.maintenance.outdated(version) else 0,
            "Progress": progress,
            "VraVersion": version,
            "VraDisplayVersion": display_version(version),
            "HostVersion": view.host.version,
            "VraNetworkDataApi": network_data.to_json(),
            "VraGroup": marks.get(GROUP, "default_group"),
            "MemoryInGB": (vm.memory_mb // 1024) if vm else 0,
            "DatastoreName": datastore.name if datastore else None,
            "DatastoreIdentifier": inv.ident(datastore.moref) if datastore else None,
            "VmInstanceType": None,
            "DatastoreClusterName": None,
            "DatastoreClusterIdentifier": None,
            "NetworkName": network.name if network else None,
            "NetworkIdentifier": inv.ident(network.moref) if network else None,
            "HostIdentifier": inv.ident(view.host.moref),
            "HostDisplayName": view.host.name,
            "ProtectedCounters": protected,
            "RecoveryCounters": recovery,
            "SelfProtectedVpgs": 0,
            "VraAlerts": {"VraAlertsStatus": 0},
            "NumOfCpus": vm.cpus if vm else 0,
            "IsGhost": False,
            "IsVaio": False,
            "PlatformInformation": None,
        }


def _natural(moref: str) -> tuple[str, int]:
    prefix, _, number = moref.rpartition("-")
    return (prefix, int(number)) if number.isdigit() else (moref, 0)


def _move_recovery(settings: dict[str, Any], old_host: str, moves: dict[str, str]) -> None:
    """Point the recovery of the moved VMs at their new hosts. A VM that recovers to the VPG's
    default host gets a host of its own; the default host moves too when it was the old host
    (inferred: the VPG would otherwise keep using a VRA that is going away)."""
    recovery = settings.setdefault("Recovery", {})
    entries = {e.get("VmIdentifier"): e for e in settings.get("Vms") or []}
    for vm_id, host_id in moves.items():
        entry = entries.get(vm_id)
        if entry is None:
            continue
        vm_recovery = entry.get("Recovery")
        if not isinstance(vm_recovery, dict):
            vm_recovery = entry["Recovery"] = {}
        vm_recovery["HostIdentifier"] = host_id
        vm_recovery["HostClusterIdentifier"] = None
    if recovery.get("DefaultHostIdentifier") == old_host and moves:
        recovery["DefaultHostIdentifier"] = next(iter(moves.values()))
