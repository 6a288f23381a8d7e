"""The body of a VPG settings object (``VpgSettingsApi``): its sections and schemas, the
defaults of a new VPG, merging changes, VM entries, and the ranges of its basic settings
(``settings.py`` keeps the objects).

VPG settings objects are the transient drafts from which VPGs are created and edited.

``POST /v1/vpgSettings`` ``{}`` starts a new VPG, ``{"VpgIdentifier": id}`` an edit of one;
the object is read and written whole or by section, VMs are added and removed, and
``POST .../commit`` validates it and starts the task that creates or updates the VPG. An
object is deleted on commit or after ``settings_ttl_seconds`` (30 minutes) unused. Request
bodies are canonicalised to the schema's PascalCase names, so the object is always shaped like
``VpgSettingsApi`` (see ``openapi/vpg-settings-example.json``).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.inventory import Inventory, VmInfo

if TYPE_CHECKING:
    pass

DEFAULT_BOOT_GROUP = "00000000-0000-0000-0000-000000000000"
_NS = "Zerto.Zvm.Api.Interfaces.VpgSettings."
#: URL section → (key in the settings object, schema)
SECTIONS = {
    "basic": ("Basic", _NS + "VpgSettingsBasicApi"),
    "journal": ("Journal", _NS + "VpgSettingsJournalApi"),
    "scratch": ("Scratch", _NS + "VpgSettingsScratchApi"),
    "recovery": ("Recovery", _NS + "VpgSettingsRecoveryApi"),
    "networks": ("Networks", _NS + "VpgSettingsNetworksApi"),
    "bootgroup": ("BootGroups", _NS + "VpgSettingsBootGroupsApi"),
    "scripting": ("Scripting", _NS + "VpgSettingsScriptsApi"),
    "ltr": ("LongTermRetention", _NS + "VpgSettingsLtrApi"),
}
SETTINGS_SCHEMA = _NS + "VpgSettingsApi"
VM_SCHEMA = _NS + "VpgSettingsVmApi"
NIC_SCHEMA = _NS + "VpgSettingsVmNicApi"
VOLUME_SCHEMA = _NS + "VpgSettingsVmVolumeApi"


def _limits(hard: int, warning: int) -> dict[str, Any]:
    return {
        "HardLimitInMB": hard,
        "HardLimitInPercent": 0,
        "WarningThresholdInMB": warning,
        "WarningThresholdInPercent": 0,
    }


def default_section(key: str, protected_site: str) -> Any:
    """The value a new settings object has for one of its top-level keys."""
    script = {"Command": None, "Parameters": None, "TimeoutInSeconds": 300}
    network = {"VCD": None, "Hypervisor": {"DefaultNetworkIdentifier": None}, "PublicCloud": None}
    defaults: dict[str, Any] = {
        "Basic": {
            "Name": None,
            "VpgType": "Remote",
            "RpoInSeconds": 300,
            "TestIntervalInMinutes": 262080,
            "JournalHistoryInHours": 24,
            "Priority": "Medium",
            "UseWanCompression": True,
            "ServiceProfileIdentifier": None,
            "ZorgIdentifier": None,
            "ProtectedSiteIdentifier": protected_site,
            "RecoverySiteIdentifier": None,
        },
        "Scripting": {
            "PreRecovery": dict(script),
            "PostRecovery": dict(script),
            "PostBackup": None,
        },
        "BootGroups": {
            "BootGroups": [
                {
                    "BootGroupIdentifier": DEFAULT_BOOT_GROUP,
                    "Name": "Default",
                    "BootDelayInSeconds": 0,
                }
            ]
        },
        "Journal": {
            "Limitation": _limits(153600, 115200),
            "DatastoreIdentifier": None,
            "DatastoreClusterIdentifier": None,
        },
        "Scratch": {
            "Limitation": _limits(307200, 230400),
            "DatastoreIdentifier": None,
            "DatastoreClusterIdentifier": None,
        },
        "LongTermRetention": None,
        "Recovery": {
            "DefaultHostIdentifier": None,
            "DefaultHostClusterIdentifier": None,
            "DefaultDatastoreIdentifier": None,
            "DefaultDatastoreClusterIdentifier": None,
            "DefaultFolderIdentifier": None,
            "ResourcePoolIdentifier": None,
            "VCD": None,
            "PublicCloud": None,
        },
        "Networks": {"Failover": dict(network), "FailoverTest": copy.deepcopy(network)},
        "Vms": [],
        "Protected": {"VCD": None},
    }
    return copy.deepcopy(defaults[key])


def default_settings(protected_site: str) -> dict[str, Any]:
    keys = (
        "Basic",
        "Scripting",
        "BootGroups",
        "Journal",
        "Scratch",
        "LongTermRetention",
        "Recovery",
        "Networks",
        "Vms",
        "Protected",
    )
    return {key: default_section(key, protected_site) for key in keys}


def merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` laid over ``base``: objects merged key by key, everything else replaced."""
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def vm_entry(inv: Inventory, vm: VmInfo, settings: dict[str, Any]) -> dict[str, Any]:
    """A VpgSettingsVmApi entry for a VM, filled from the VPG's defaults."""
    recovery = settings.get("Recovery") or {}
    journal = settings.get("Journal") or {}
    scratch = settings.get("Scratch") or {}
    networks = settings.get("Networks") or {}

    def default_network(kind: str) -> str | None:
        return ((networks.get(kind) or {}).get("Hypervisor") or {}).get("DefaultNetworkIdentifier")

    def nic_network(kind: str) -> dict[str, Any]:
        return {
            "Hypervisor": {
                "NetworkIdentifier": default_network(kind),
                "ShouldReplaceMacAddress": False,
                "DnsSuffix": None,
                "IpConfig": None,
                "ShouldReplaceIpConfiguration": False,
            },
            "VCD": None,
            "PublicCloud": None,
        }

    return {
        "VmIdentifier": inv.ident(vm.moref),
        "Recovery": {
            "HostIdentifier": recovery.get("DefaultHostIdentifier"),
            "HostClusterIdentifier": recovery.get("DefaultHostClusterIdentifier"),
            "DatastoreIdentifier": recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": recovery.get("DefaultDatastoreClusterIdentifier"),
            "FolderIdentifier": recovery.get("DefaultFolderIdentifier"),
            "ResourcePoolIdentifier": recovery.get("ResourcePoolIdentifier"),
            "VCD": None,
            "PublicCloud": None,
        },
        "BootGroupIdentifier": DEFAULT_BOOT_GROUP,
        "Journal": {
            "Limitation": copy.deepcopy(journal.get("Limitation") or _limits(153600, 115200)),
            "DatastoreIdentifier": journal.get("DatastoreIdentifier")
            or recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": journal.get("DatastoreClusterIdentifier"),
        },
        "Scratch": {
            "Limitation": copy.deepcopy(scratch.get("Limitation") or _limits(307200, 230400)),
            "DatastoreIdentifier": scratch.get("DatastoreIdentifier")
            or recovery.get("DefaultDatastoreIdentifier"),
            "DatastoreClusterIdentifier": scratch.get("DatastoreClusterIdentifier"),
        },
        "Volumes": [
            {
                "VolumeIdentifier": disk.identifier,
                "VCD": None,
                "Preseed": None,
                "RDM": None,
                "Datastore": {
                    "DatastoreClusterIdentifier": None,
                    "DatastoreIdentifier": recovery.get("DefaultDatastoreIdentifier"),
                    "IsThin": True,
                },
                "VolumeSyncSettings": "ContinuousSync",
            }
            for disk in vm.disks
        ],
        "Nics": [
            {
                "NicIdentifier": nic.label,
                "FailoverTest": nic_network("FailoverTest"),
                "Failover": nic_network("Failover"),
            }
            for nic in vm.nics
        ],
    }


#: VPG default (recovery section) → the VM-level setting that follows it
_RECOVERY_DEFAULTS = {
    "DefaultHostIdentifier": "HostIdentifier",
    "DefaultHostClusterIdentifier": "HostClusterIdentifier",
    "DefaultDatastoreIdentifier": "DatastoreIdentifier",
    "DefaultDatastoreClusterIdentifier": "DatastoreClusterIdentifier",
    "DefaultFolderIdentifier": "FolderIdentifier",
    "ResourcePoolIdentifier": "ResourcePoolIdentifier",
}


def propagate_defaults(data: dict[str, Any], key: str, old: Any, new: Any) -> None:
    """A VPG-level default changed: VMs that used the old default follow the new one (a VM
    setting that differs from the default is the VM's own and stays)."""
    old = old if isinstance(old, dict) else {}
    new = new if isinstance(new, dict) else {}

    def follow(target: dict[str, Any], field: str, before: Any, after: Any) -> None:
        if isinstance(target, dict) and target.get(field) == before and before != after:
            target[field] = after

    for vm in data.get("Vms") or []:
        if key == "Recovery":
            for default, field in _RECOVERY_DEFAULTS.items():
                follow(vm.get("Recovery") or {}, field, old.get(default), new.get(default))
            before, after = (
                old.get("DefaultDatastoreIdentifier"),
                new.get("DefaultDatastoreIdentifier"),
            )
            for volume in vm.get("Volumes") or []:
                follow(volume.get("Datastore") or {}, "DatastoreIdentifier", before, after)
        elif key == "Networks":
            for kind in ("Failover", "FailoverTest"):
                before = ((old.get(kind) or {}).get("Hypervisor") or {}).get(
                    "DefaultNetworkIdentifier"
                )
                after = ((new.get(kind) or {}).get("Hypervisor") or {}).get(
                    "DefaultNetworkIdentifier"
                )
                for nic in vm.get("Nics") or []:
                    follow(
                        (nic.get(kind) or {}).get("Hypervisor") or {},
                        "NetworkIdentifier",
                        before,
                        after,
                    )
        elif key in ("Journal", "Scratch"):
            target = vm.get(key) or {}
            follow(
                target,
                "DatastoreIdentifier",
                old.get("DatastoreIdentifier"),
                new.get("DatastoreIdentifier"),
            )
            follow(target, "Limitation", old.get("Limitation"), new.get("Limitation"))


def check_basic_ranges(basic: dict[str, Any]) -> None:
    """The ranges the appliance enforces on the basic section."""
    hours = basic.get("JournalHistoryInHours")
    if hours is not None and not 1 <= int(hours) <= 720:
        raise BadRequest(f"JournalHistoryInHours must be between 1 and 720, not {hours}.")
    rpo = basic.get("RpoInSeconds")
    if rpo is not None and not 1 <= int(rpo) <= 86400:
        raise BadRequest(f"RpoInSeconds must be between 1 and 86400, not {rpo}.")
    interval = basic.get("TestIntervalInMinutes")
    if interval is not None and int(interval) < 0:
        raise BadRequest(f"TestIntervalInMinutes must not be negative, not {interval}.")
    priority = basic.get("Priority")
    if priority is not None and str(priority).lower() not in ("low", "medium", "high"):
        raise BadRequest(f"Priority must be Low, Medium or High, not {priority!r}.")
