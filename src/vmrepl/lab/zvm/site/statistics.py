"""Protected VMs and their statistics, and the site's datastores.

- ``GET /v1/vms``: one entry per VM per VPG (``ActualRPO``, ``JournalUsedStorageMb`` that grows
  with the journal history, ``OutgoingBandWidthInMbps``, ...);
- ``GET /v1/statistics/vms``: cumulative counters since the VM's protection began (they only
  grow; deltas give the change rate);
- ``GET /v1/datastores``: capacity and free space read live from vCenter.

A VM's change rate is fixed per VM (derived from its identifier), so numbers are repeatable.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.enums import MEETING_SLA, RPO_NOT_MEETING_SLA
from vmrepl.lab.zvm.inventory import ROLE_VRA, Inventory, network_information
from vmrepl.lab.zvm.links import link
from vmrepl.lab.zvm.store import ProtectedVm, VpgRecord
from vmrepl.lab.zvm.vcenter import Detail

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.vpgs import VpgService


def write_rate_mb(vm_identifier: str) -> float:
    """The VM's simulated write rate, MB/s (0.5-4.0)."""
    return 0.5 + (zlib.crc32(vm_identifier.encode()) % 8) / 2


class StatisticsService:
    def __init__(self, ctx: SiteContext, vpgs: VpgService) -> None:
        self.ctx = ctx
        self.vpgs = vpgs

    def protected(self) -> list[tuple[VpgRecord, ProtectedVm]]:
        return [(vpg, vm) for vpg in self.ctx.store.live_vpgs() for vm in vpg.vms]

    def vm_json(self, vpg: VpgRecord, vm: ProtectedVm, inv: Inventory | None) -> dict[str, Any]:
        state = self.vpgs.state(vpg)
        replicating = state.status in (MEETING_SLA, RPO_NOT_MEETING_SLA) and not vpg.paused
        rate = write_rate_mb(vm.vm)
        entry: dict[str, Any] = next(
            (e for e in vpg.settings.get("Vms") or [] if e.get("VmIdentifier") == vm.vm), {}
        )
        limits = (entry.get("Journal") or {}).get("Limitation") or {}
        hard = int(limits.get("HardLimitInMB") or 153600)
        warning = int(limits.get("WarningThresholdInMB") or 115200)
        journal = min(hard, int(rate * state.history_minutes * 60 / 50))
        recovery_host = (entry.get("Recovery") or {}).get("HostIdentifier") or (
            vpg.settings.get("Recovery") or {}
        ).get("DefaultHostIdentifier")
        current = inv.vm(vm.vm) if inv is not None else None
        host = inv.hosts.get(current.host or "") if inv is not None and current else None
        datastore_moref = current.datastores[0] if current and current.datastores else None
        datastore = inv.datastores.get(datastore_moref or "") if inv is not None else None
        priority = str((vpg.settings.get("Basic") or {}).get("Priority") or "Medium").lower()
        base = self.ctx.url
        return {
            "VmIdentifier": vm.vm,
            "VpgIdentifier": vpg.identifier,
            "Link": {
                "vpg_identifier": vpg.identifier,
                "instance_identifier": current.instance_uuid if current else None,
                "rel": None,
                "href": f"{base}/v1/vms/{vm.vm}",
                "type": "VmApi",
                "identifier": vm.vm,
            },
            "OrganizationName": None,
            "Priority": {"low": 0, "medium": 1, "high": 2}.get(priority, 1),
            "ProvisionedStorageInMB": vm.storage_mb,
            "UsedStorageInMB": vm.storage_mb,
            "CpuCoresNum": vm.cpus,
            "MemorySizeInMB": vm.memory_mb,
            "JournalUsedStorageMb": journal,
            "JournalWarningThreshold": {"LimitType": 1, "LimitValue": warning},
            "JournalHardLimit": {"LimitType": 1, "LimitValue": hard},
            "IoPs": int(rate * 20) if replicating else 0,
            "ThroughputInMB": round(rate, 2) if replicating else 0.0,
            "OutgoingBandWidthInMbps": round(rate * 8 * 0.6, 2) if replicating else 0.0,
            "ActualRPO": state.actual_rpo,
            "LastTest": clock.iso(vpg.last_test),
            "VpgName": vpg.name,
            "VmName": vm.name,
            "Volumes": [
                {"VmVolumeIdentifier": v, "PublicCloudVolumeIdentifier": None} for v in vm.volumes
            ],
            "Nics": [{"NicIdentifier": n} for n in vm.nics],
            "ProtectedSiteName": vpg.protected_site_name,
            "RecoverySiteName": vpg.recovery_site_name,
            "Entities": {"Protected": 0, "Recovery": 0},
            "Status": state.status,
            "SubStatus": state.substatus,
            "ProtectedSite": link(base, "peersites", vpg.protected_site, "SiteApi"),
            "RecoverySite": link(base, "peersites", vpg.recovery_site, "SiteApi"),
            "EnabledActions": {"IsFlrEnabled": False},
            "IsVmExists": current is not None if inv is not None else True,
            "RecoveryHostIdentifier": recovery_host,
            "RecoveryHostName": None,
            "OwningHostIdentifier": inv.ident(host.moref) if inv is not None and host else vm.host,
            "OwningHostName": host.name if host else None,
            "OwningDatastoreIdentifier": inv.ident(datastore.moref)
            if inv is not None and datastore
            else vm.datastore,
            "OwningDatastoreName": datastore.name if datastore else None,
            "GuestOs": current.guest_os if current else None,
            "VmNetworkInformation": network_information(inv, current)
            if inv is not None and current
            else {"NetworkAdapters": []},
            "HardwareVersion": "vmx-13",
            "IsAgentInstalled": False,
            "PlatformInformation": None,
        }

    def counters(self, vpg: VpgRecord, vm: ProtectedVm) -> dict[str, Any]:
        now = clock.now()
        elapsed = max(0.0, now - vpg.sync_started)
        rate = write_rate_mb(vm.vm)
        writes = int(rate * elapsed)
        return {
            "VmIdentifier": vm.vm,
            "VpgIdentifier": vpg.identifier,
            "IoOperationsCounter": int(rate * 20 * elapsed),
            "WriteCounterInMBs": writes,
            "SyncCounterInMBs": vm.storage_mb + writes,
            "NetworkTrafficCounterInMBs": int(writes * 0.6),
            "SampleTime": clock.iso(now),
        }

    def local_inventory(self, detail: Detail = "full") -> Inventory:
        return self.ctx.backend.inventory(detail)

    def datastore_json(self, inv: Inventory, moref: str) -> dict[str, Any]:
        ds = inv.datastores[moref]
        vras = sum(1 for vm in inv.vms_with_role(ROLE_VRA) if moref in vm.datastores)
        ident = inv.ident(moref)
        incoming = outgoing = 0
        protected_used = recovery_used = journal_used = 0
        for vpg, vm in self.protected():
            if vpg.protected_site == self.ctx.site_identifier and vm.datastore == ident:
                outgoing += 1
                protected_used += vm.storage_mb * 1024 * 1024
            if vpg.recovery_site == self.ctx.site_identifier:
                default = (vpg.settings.get("Recovery") or {}).get("DefaultDatastoreIdentifier")
                if default == ident:
                    incoming += 1
                    recovery_used += vm.storage_mb * 1024 * 1024
                    journal_used += self.vm_json(vpg, vm, None)["JournalUsedStorageMb"] * 1024**2
        used = max(0, ds.capacity - ds.free)

        def usage(used_bytes: int) -> dict[str, int]:
            return {"UsedInBytes": used_bytes, "ProvisionedInBytes": used_bytes}

        return {
            "DatastoreIdentifier": ident,
            "DatastoreName": ds.name,
            "Config": {"Devices": [], "Type": "VMFS", "OwningDatastoreCluster": None},
            "Stats": {
                "NumVRAs": vras,
                "NumIncomingVMs": incoming,
                "NumOutgoingVMs": outgoing,
                "AvailabilityStatus": "Available" if ds.accessible else "Unavailable",
                "Usage": {
                    "Datastore": {
                        "CapacityInBytes": ds.capacity,
                        "FreeInBytes": ds.free,
                        "UsedInBytes": used,
                        "ProvisionedInBytes": used,
                    },
                    "Zerto": {
                        "Protected": usage(protected_used),
                        "Recovery": usage(recovery_used),
                        "Journal": usage(journal_used),
                        "Scratch": usage(0),
                        "Appliances": usage(vras * 2 * 1024**3),
                        "Unknown": usage(0),
                    },
                },
            },
            "Health": {"Status": "Ok" if ds.accessible else "Error", "Alerts": []},
        }
