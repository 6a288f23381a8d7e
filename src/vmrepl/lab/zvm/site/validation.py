"""Validation of a VPG settings object at commit, the way the appliance answers (400 with
``{"Message": ...}``): a name that is set and unique, journal history 1-720 hours, VMs that
exist at the protected site on hosts with a VRA and are in at most 3 VPGs (each to a different
site), a recovery host with a VRA and a datastore, folder and networks that exist at the
recovery site."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.inventory import APPLIANCE_ROLES, HostInfo, Inventory
from vmrepl.lab.zvm.site.vpgsettings import check_basic_ranges, merge, vm_entry
from vmrepl.lab.zvm.store import ProtectedVm, VpgRecord

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.gateway import Gateways
    from vmrepl.lab.zvm.site.peering import PeeringService

MAX_VPGS_PER_VM = 3
MAX_DISKS_PER_VM = 60
MIN_JOURNAL_MB = 8192


@dataclass
class Plan:
    """A validated VPG: what the commit creates or updates."""

    name: str
    protected_site: str
    recovery_site: str
    settings: dict[str, Any]
    vms: list[ProtectedVm]


def _get(data: dict[str, Any], *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def validate(
    ctx: SiteContext,
    gateways: Gateways,
    peering: PeeringService,
    data: dict[str, Any],
    editing: VpgRecord | None,
) -> Plan:
    settings = copy.deepcopy(data)
    basic = settings.get("Basic") or {}
    name = (basic.get("Name") or "").strip()
    if not name:
        raise BadRequest("The VPG name (Basic.Name) is required.")
    check_basic_ranges(basic)
    if basic.get("JournalHistoryInHours") is None:
        raise BadRequest("Basic.JournalHistoryInHours is required (1-720).")
    me = ctx.site_identifier
    protected = basic.get("ProtectedSiteIdentifier") or me
    recovery = basic.get("RecoverySiteIdentifier")
    if not recovery:
        raise BadRequest("Basic.RecoverySiteIdentifier is required.")
    for label, site in (("protected", protected), ("recovery", recovery)):
        if site != me and not peering.is_paired(site):
            raise BadRequest(f"The {label} site {site} is neither this site nor a paired site.")
    if me not in (protected, recovery):
        raise BadRequest("A VPG is created at its protected or recovery site.")
    if editing is not None and (editing.protected_site, editing.recovery_site) != (
        protected,
        recovery,
    ):
        raise BadRequest("The protected and recovery sites of an existing VPG cannot be changed.")
    for site in {protected, recovery} - {me}:
        if not peering.link_up(site):
            raise BadRequest(
                f"The connection to site {peering.site_name(site)} is down; "
                "the VPG cannot be saved now."
            )
    for vpg in ctx.store.live_vpgs():
        if vpg.name.lower() == name.lower() and (
            editing is None or vpg.identifier != editing.identifier
        ):
            raise BadRequest(f"A VPG named '{name}' already exists.")
    basic["Name"] = name
    basic["ProtectedSiteIdentifier"] = protected
    basic["RecoverySiteIdentifier"] = recovery
    basic["VpgType"] = "Local" if protected == recovery else "Remote"
    priority = str(basic.get("Priority") or "Medium")
    basic["Priority"] = priority[:1].upper() + priority[1:].lower()
    settings["Basic"] = basic

    source_inv = gateways(protected).inventory("full")
    target_inv = source_inv if recovery == protected else gateways(recovery).inventory("none")
    source_vras = set(gateways(protected).installed_vra_hosts())
    target_vras = (
        source_vras if recovery == protected else set(gateways(recovery).installed_vra_hosts())
    )
    vms = _check_vms(ctx, settings, source_inv, source_vras, recovery, editing)
    _check_recovery(ctx, settings, target_inv, target_vras)
    _check_journal(settings, target_inv)
    return Plan(name, protected, recovery, settings, vms)


def _check_vms(
    ctx: SiteContext,
    settings: dict[str, Any],
    inv: Inventory,
    vras: set[str],
    recovery: str,
    editing: VpgRecord | None,
) -> list[ProtectedVm]:
    # a VPG may be committed empty and filled later (POST /v1/vpgSettings/{id}/vms)
    entries = settings.get("Vms") or []
    protected_site = (settings.get("Basic") or {})["ProtectedSiteIdentifier"]
    others = [
        v
        for v in ctx.store.live_vpgs()
        if (editing is None or v.identifier != editing.identifier)
        and v.protected_site == protected_site
    ]
    result: list[ProtectedVm] = []
    seen: set[str] = set()
    completed = []
    for entry in entries:
        vm_id = entry.get("VmIdentifier")
        vm = inv.vm(vm_id)
        if vm is None or vm.template or vm.role in APPLIANCE_ROLES:
            raise BadRequest(f"VM {vm_id} was not found at the protected site.")
        if vm_id in seen:
            raise BadRequest(f"VM {vm.name} is listed twice.")
        seen.add(str(vm_id))
        if len(vm.disks) > MAX_DISKS_PER_VM:
            raise BadRequest(
                f"VM {vm.name} has {len(vm.disks)} disks; at most {MAX_DISKS_PER_VM} are supported."
            )
        holding = [v for v in others if any(p.vm == vm_id for p in v.vms)]
        if len(holding) >= MAX_VPGS_PER_VM:
            raise BadRequest(
                f"VM {vm.name} is already protected in {len(holding)} VPGs "
                f"(at most {MAX_VPGS_PER_VM})."
            )
        for other in holding:
            if other.recovery_site == recovery:
                raise BadRequest(
                    f"VM {vm.name} is already protected to site {other.recovery_site_name} "
                    f"by VPG {other.name}; each VPG of a VM must recover to a different site."
                )
        host_id = inv.ident(vm.host)
        if host_id not in vras:
            host = inv.hosts.get(vm.host or "")
            raise BadRequest(
                f"VM {vm.name} runs on host {host.name if host else vm.host}, which has no VRA "
                "installed. Install a VRA on the host first."
            )
        completed.append(merge(vm_entry(inv, vm, settings), _present(entry)))
        nic = vm.nics[0] if vm.nics else None
        datastore = vm.datastores[0] if vm.datastores else None
        result.append(
            ProtectedVm(
                vm=str(vm_id),
                name=vm.name,
                host=host_id,
                datastore=inv.ident(datastore),
                folder=inv.ident(vm.folder),
                network=inv.ident(nic.network)
                if nic
                else inv.ident(vm.networks[0] if vm.networks else None),
                cpus=vm.cpus,
                memory_mb=vm.memory_mb,
                storage_mb=vm.storage_mb,
                nics=[n.label for n in vm.nics],
                volumes=[d.identifier for d in vm.disks],
            )
        )
    settings["Vms"] = completed
    return result


def _present(value: Any) -> Any:
    """A settings entry without its null values (so that defaults fill them)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    return value


def _host_of(inv: Inventory, host_id: str | None, cluster_id: str | None, what: str) -> HostInfo:
    if host_id:
        host = inv.host(host_id)
        if host is None:
            raise BadRequest(f"{what}: host {host_id} was not found at the recovery site.")
        return host
    if cluster_id:
        cluster = inv.cluster(cluster_id)
        if cluster is None:
            raise BadRequest(
                f"{what}: host cluster {cluster_id} was not found at the recovery site."
            )
        for moref in cluster.hosts:
            if moref in inv.hosts:
                return inv.hosts[moref]
        raise BadRequest(f"{what}: host cluster {cluster.name} has no hosts.")
    raise BadRequest(
        f"{what}: a recovery host (DefaultHostIdentifier) or host cluster "
        "(DefaultHostClusterIdentifier) is required."
    )


def _check_recovery(
    ctx: SiteContext, settings: dict[str, Any], inv: Inventory, vras: set[str]
) -> None:
    recovery = settings.get("Recovery") or {}
    settings["Recovery"] = recovery
    default_host = None
    if recovery.get("DefaultHostIdentifier") or recovery.get("DefaultHostClusterIdentifier"):
        default_host = _host_of(
            inv,
            recovery.get("DefaultHostIdentifier"),
            recovery.get("DefaultHostClusterIdentifier"),
            "Recovery",
        )
    folder = recovery.get("DefaultFolderIdentifier")
    if folder and inv.folder(folder) is None:
        raise BadRequest(f"Recovery folder {folder} was not found at the recovery site.")
    pool = recovery.get("ResourcePoolIdentifier")
    if pool and inv.pool(pool) is None:
        raise BadRequest(f"Resource pool {pool} was not found at the recovery site.")
    if recovery.get("DefaultDatastoreClusterIdentifier") and not recovery.get(
        "DefaultDatastoreIdentifier"
    ):
        raise BadRequest(
            "Datastore cluster "
            f"{recovery['DefaultDatastoreClusterIdentifier']} was not found at the recovery site."
        )
    networks = settings.get("Networks") or {}
    for kind in ("Failover", "FailoverTest"):
        net = _get(networks, kind, "Hypervisor", "DefaultNetworkIdentifier")
        if not net:
            raise BadRequest(f"Networks.{kind}.Hypervisor.DefaultNetworkIdentifier is required.")
        if inv.network(net) is None:
            raise BadRequest(f"The {kind} network {net} was not found at the recovery site.")
    for entry in settings.get("Vms") or []:
        vm_recovery = entry.get("Recovery") or {}
        what = f"VM {entry.get('VmIdentifier')}"
        host = (
            _host_of(
                inv,
                vm_recovery.get("HostIdentifier"),
                vm_recovery.get("HostClusterIdentifier"),
                what,
            )
            if vm_recovery.get("HostIdentifier") or vm_recovery.get("HostClusterIdentifier")
            else default_host
        )
        if host is None:
            _host_of(inv, None, None, "Recovery")
            return
        if inv.ident(host.moref) not in vras:
            raise BadRequest(
                f"No VRA is installed on the recovery host {host.name}. Install one first."
            )
        datastore_id = vm_recovery.get("DatastoreIdentifier") or recovery.get(
            "DefaultDatastoreIdentifier"
        )
        if not datastore_id:
            raise BadRequest(
                "Recovery.DefaultDatastoreIdentifier (or a datastore per VM) is required."
            )
        datastore = inv.datastore(datastore_id)
        if datastore is None:
            raise BadRequest(
                f"Recovery datastore {datastore_id} was not found at the recovery site."
            )
        if datastore.moref not in host.datastores:
            raise BadRequest(
                f"Recovery datastore {datastore.name} is not accessible from host {host.name}."
            )
        vm_folder = vm_recovery.get("FolderIdentifier")
        if vm_folder and inv.folder(vm_folder) is None:
            raise BadRequest(f"{what}: folder {vm_folder} was not found at the recovery site.")
        for nic in entry.get("Nics") or []:
            for kind in ("Failover", "FailoverTest"):
                net = _get(nic, kind, "Hypervisor", "NetworkIdentifier")
                if net and inv.network(net) is None:
                    raise BadRequest(
                        f"{what}: the {kind} network {net} of {nic.get('NicIdentifier')} "
                        "was not found at the recovery site."
                    )


def _check_journal(settings: dict[str, Any], inv: Inventory) -> None:
    for section in ("Journal", "Scratch"):
        data = settings.get(section) or {}
        datastore = data.get("DatastoreIdentifier")
        if datastore and inv.datastore(datastore) is None:
            raise BadRequest(f"{section} datastore {datastore} was not found at the recovery site.")
        limits = data.get("Limitation") or {}
        hard = limits.get("HardLimitInMB") or 0
        warning = limits.get("WarningThresholdInMB") or 0
        if hard and hard < MIN_JOURNAL_MB:
            raise BadRequest(
                f"{section}.Limitation.HardLimitInMB must be at least {MIN_JOURNAL_MB} MB "
                f"(or 0 for unlimited), not {hard}."
            )
        if hard and warning > hard:
            raise BadRequest(
                f"{section}.Limitation.WarningThresholdInMB ({warning}) exceeds "
                f"the hard limit ({hard})."
            )
