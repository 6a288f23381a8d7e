"""A snapshot of everything a lab's sites hold, to prove that a refused run changed nothing.

Each site is read as a user's tools would read it: its vCenter through pyvmomi (VMs with their
host, folder, resource pool, networks, size, power state and custom values; folders; networks
and port groups; each host's vSwitches and port groups, from its network system; resource
pools; custom attribute definitions; hosts' maintenance and connection state) and the
vCenter's tags and categories through the Automation API, and its ZVM through the API (local
site, licence, login banner, peer sites, VRAs, VPGs, protected VMs, open ``vpgSettings``
objects, tasks). A ZVM that does not answer (a bare site, before its appliance runs) is
recorded as such: deploying it would change that.

What moves on its own while nothing is done (a VPG's RPO, journal use, checkpoints and
progress; counters; the time of a session) is left out; what a run would change is kept.
Compare two snapshots with :func:`differences`, which names every path that differs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import requests
from pyVmomi import vim

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConnectionFailed,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereConnectionParams,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere_tags import TagClient

if TYPE_CHECKING:
    from tests.deploy.conftest import Lab

Snapshot = dict[str, Any]

#: Fields of ZVM objects that change while nothing is done to the site (live metrics, clocks,
#: links that carry the session's address). Everything else is compared.
VOLATILE = frozenset(
    {
        "ActualRPO",
        "ActualHistoryInMinutes",
        "ConfiguredHistoryInMinutes",
        "ProgressPercentage",
        "ProvisionedStorageInMB",
        "UsedStorageInMB",
        "IOPs",
        "IOPS",
        "ThroughputInMB",
        "Entities",
        "LastTest",
        "Link",
        "link",
        "Links",
        "HistoryStatusApi",
        "BackupStatus",
        "JournalUsedStorageMb",
        "RecoveryJournalUsedStorageMb",
        "StorageUsedInMB",
        "UsedStorageMb",
        "ProvisionedStorageMb",
        "Uptime",
        "UtcNow",
        "LocalTime",
        "Progress",
        "ThroughputInMb",
        "OutgoingBandWidth",
        "IncomingThroughputInMb",
        "BandwidthInMB",
        "LastCheckpoint",
    }
)


def _plain(value: Any) -> Any:
    """A comparable form of a JSON value, without its volatile fields (recursively)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in sorted(value.items()) if k not in VOLATILE}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _by(items: Iterable[Mapping[str, Any]], *keys: str) -> dict[str, Any]:
    """Objects keyed by the first of ``keys`` they have (their identifier), made plain."""
    keyed: dict[str, Any] = {}
    for item in items:
        key = next((str(item[k]) for k in keys if item.get(k) is not None), None)
        keyed[key or json.dumps(_plain(item), sort_keys=True)] = _plain(item)
    return keyed


def _name(ref: Any, names: Mapping[str, str]) -> str | None:
    return names.get(ref._moId) if ref is not None else None


def vcenter_snapshot(lab: Lab, site: str) -> Snapshot:
    """A site's vCenter, read through pyvmomi's PropertyCollector and the tagging API."""
    with lab.vcenter(site) as vc:
        found = vc.retrieve_many(
            [
                (vim.Folder, ["name", "parent"]),
                (vim.Datacenter, ["name", "parent"]),
                (vim.ResourcePool, ["name", "parent", "vm"]),
                (vim.Network, ["name", "host", "vm"]),
                (vim.Datastore, ["name"]),
                (
                    vim.HostSystem,
                    [
                        "name",
                        "parent",
                        "runtime.inMaintenanceMode",
                        "runtime.connectionState",
                    ],
                ),
                (
                    vim.VirtualMachine,
                    [
                        "name",
                        "parent",
                        "resourcePool",
                        "runtime.host",
                        "runtime.powerState",
                        "network",
                        "datastore",
                        "config.hardware.numCPU",
                        "config.hardware.memoryMB",
                        "config.template",
                        "config.annotation",
                        "customValue",
                    ],
                ),
            ]
        )
        names = {
            o.moid: str(o["name"]) for kind in found.values() for o in kind if "name" in o.props
        }
        fields = {f.key: f.name for f in vc.content.customFieldsManager.field or []}
        # Each host's network system, as the project's own code reads it.
        networking = vc.host_networking([o.ref for o in found[vim.HostSystem]])
        snapshot: Snapshot = {
            "folders": sorted(
                f"{_name(o['parent'], names)}/{o['name']}" for o in found[vim.Folder]
            ),
            "datacenters": sorted(str(o["name"]) for o in found[vim.Datacenter]),
            "resource_pools": sorted(
                (f"{_name(o['parent'], names)}/{o['name']}", len(o["vm"] or []))
                for o in found[vim.ResourcePool]
            ),
            "networks": sorted(
                (
                    type(o.ref).__name__,
                    str(o["name"]),
                    sorted(str(_name(h, names)) for h in o["host"] or []),
                    sorted(str(_name(v, names)) for v in o["vm"] or []),
                )
                for o in found[vim.Network]
            ),
            "datastores": sorted(str(o["name"]) for o in found[vim.Datastore]),
            "hosts": {
                str(o["name"]): {
                    "parent": _name(o["parent"], names),
                    "maintenance": bool(o["runtime.inMaintenanceMode"]),
                    "connection": str(o["runtime.connectionState"]),
                    "vswitches": sorted(
                        (s.name, sorted(s.portgroup or []), s.numPorts)
                        for s in getattr(networking.get(o.moid), "vswitch", None) or []
                    ),
                    "portgroups": sorted(
                        (p.spec.name, p.spec.vswitchName, p.spec.vlanId)
                        for p in getattr(networking.get(o.moid), "portgroup", None) or []
                    ),
                }
                for o in found[vim.HostSystem]
            },
            "vms": {
                o.moid: {
                    "name": str(o["name"]),
                    "folder": _name(o["parent"], names),
                    "resource_pool": _name(o["resourcePool"], names),
                    "host": _name(o["runtime.host"], names),
                    "power": str(o["runtime.powerState"]),
                    "networks": sorted(str(_name(n, names)) for n in o["network"] or []),
                    "datastores": sorted(str(_name(d, names)) for d in o["datastore"] or []),
                    "cpus": o["config.hardware.numCPU"],
                    "memory_mb": o["config.hardware.memoryMB"],
                    "template": o["config.template"],
                    "annotation": o["config.annotation"],
                    "custom_values": sorted(
                        (fields.get(c.key, str(c.key)), str(c.value))
                        for c in o["customValue"] or []
                    ),
                }
                for o in found[vim.VirtualMachine]
            },
            "custom_attributes": sorted(
                (f.name, f.managedObjectType.__name__ if f.managedObjectType else None)
                for f in vc.content.customFieldsManager.field or []
            ),
        }
    snapshot["tags"] = tag_snapshot(lab, site)
    return snapshot


def tag_snapshot(lab: Lab, site: str) -> Snapshot:
    """Every tag category, tag and tag attachment of a site's vCenter (Automation API)."""
    vc = lab.site(site)["vcenter"]
    params = VSphereConnectionParams(
        vc["host"], vc["username"], vc["password"], port=vc["port"], ca_file=vc["ca_file"]
    )
    with TagClient.connect(params) as tags:
        categories = {c.id: c for c in tags.categories()}
        snapshot: Snapshot = {}
        for category in categories.values():
            for tag_id in tags.tag_ids_of(category.id):
                tag = tags.tag(tag_id, category)
                snapshot[f"{category.name}/{tag.name}"] = sorted(tags.attached(tag))
        snapshot["categories"] = sorted(
            (c.name, c.cardinality, sorted(c.associable_types)) for c in categories.values()
        )
    return snapshot


def zvm_snapshot(lab: Lab, site: str) -> Snapshot:
    """A site's ZVM through its API, or that it does not answer."""
    try:
        with lab.zvm(site) as zvm:
            zvm.login()
            return {
                "local_site": _plain(zvm.local_site()),
                "license": _plain(zvm.license()),
                "login_banner": _plain(zvm.get("/v1/localsite/settings/loginBanner")),
                "peer_sites": _by(zvm.peer_sites(), "SiteIdentifier"),
                "vras": _by(zvm.vras(), "VraIdentifier"),
                "vpgs": _by(zvm.vpgs(), "VpgIdentifier"),
                "vms": _by(zvm.vms(), "VmIdentifier"),
                "vpg_settings": _by(zvm.get("/v1/vpgSettings") or [], "VpgSettingsIdentifier"),
                "tasks": _by(zvm.tasks(), "TaskIdentifier"),
            }
    except (ConnectionFailed, requests.ConnectionError) as exc:
        return {"answering": False, "error": type(exc).__name__}


def lab_snapshot(lab: Lab) -> Snapshot:
    """Every site of the lab: its vCenter and its ZVM."""
    return {
        site["name"]: {
            "vcenter": vcenter_snapshot(lab, site["name"]),
            "zvm": zvm_snapshot(lab, site["name"]),
        }
        for site in lab.state["sites"]
    }


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Every path at which two snapshots differ, with both values (empty: nothing changed)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            where = f"{path}/{key}"
            if key not in after:
                found.append(f"{where}: removed ({before[key]!r})")
            elif key not in before:
                found.append(f"{where}: added ({after[key]!r})")
            else:
                found += differences(before[key], after[key], where)
        return found
    if before != after:
        return [f"{path}: {before!r} -> {after!r}"]
    return []
