# Copyright: vmrepl contributors
# Apache License 2.0
"""Discovery of a site's hypervisors, datastores and networks: a handful of PropertyCollector
calls per site (one per object type), however many objects it holds; and the choice of the
customer-dedicated hosts among them (a pure function). Hosts and VMs can also be chosen by vSphere
tag: :func:`tagged_objects` reads the moref ids that carry a tag (one tag lookup and one association
call), and the choice functions take them as ``tagged``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import NotFound
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    CLUSTER_PROPERTIES,
    DATASTORE_PROPERTIES,
    HOST_PROPERTIES,
    VSphereClient,
    custom_values,
    moid,
    vim,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere_tags import TagClient


@dataclass
class Site:
    """What discovery found, as plain data (JSON-ready)."""

    hosts: list[dict[str, Any]] = field(default_factory=list)
    datastores: dict[str, dict[str, Any]] = field(default_factory=dict)
    networks: dict[str, str] = field(default_factory=dict)  # moid → name
    clusters: dict[str, str] = field(default_factory=dict)  # moid → name


def discover(client: VSphereClient) -> Site:
    """Read every host, datastore, network and cluster of the vCenter: one PropertyCollector
    read for all of them, and one for the names of the custom attributes."""
    site = Site()
    found = client.retrieve_many(
        [
            (vim.ClusterComputeResource, CLUSTER_PROPERTIES[:1]),
            (vim.Datastore, DATASTORE_PROPERTIES),
            (vim.Network, ["name"]),
            (vim.HostSystem, HOST_PROPERTIES),
        ]
    )
    site.clusters = {c.moid: c["name"] for c in found[vim.ClusterComputeResource]}
    for ds in found[vim.Datastore]:
        capacity = int(ds["summary.capacity"] or 0)
        free = int(ds["summary.freeSpace"] or 0)
        site.datastores[ds.moid] = {
            "name": ds["name"],
            "capacity_bytes": capacity,
            "free_bytes": free,
            "free_percent": round(100.0 * free / capacity, 1) if capacity else 0.0,
            "type": ds["summary.type"],
            "accessible": bool(ds["summary.accessible"]),
        }
    site.networks = {n.moid: n["name"] for n in found[vim.Network]}
    field_keys = client.custom_field_keys()
    server_id = client.instance_uuid
    for host in found[vim.HostSystem]:
        parent = host["parent"]
        cluster = site.clusters.get(moid(parent)) if parent is not None else None
        site.hosts.append(
            {
                "name": host["name"],
                "moid": host.moid,
                # How the ZVM names the host: <vCenter instance UUID>.<moref>.
                "zvm_identifier": f"{server_id}.{host.moid}",
                "cluster": cluster,
                "connection_state": str(host["runtime.connectionState"]),
                "maintenance_mode": bool(host["runtime.inMaintenanceMode"]),
                "version": host["config.product.version"],
                "build": host["config.product.build"],
                "datastores": sorted(
                    site.datastores[moid(d)]["name"]
                    for d in host["datastore"] or []
                    if moid(d) in site.datastores
                ),
                "networks": sorted(
                    site.networks[moid(n)]
                    for n in host["network"] or []
                    if moid(n) in site.networks
                ),
                "custom_attributes": custom_values(host, field_keys),
            }
        )
    site.hosts.sort(key=lambda h: h["name"])
    return site


def tagged_objects(
    client: VSphereClient, tag: Mapping[str, str] | None, obj_type: str
) -> set[str] | None:
    """The moref ids of the objects of ``obj_type`` (``HostSystem``, ``VirtualMachine``) that
    carry the vSphere tag ``{category, name}``; None without a tag. Resolves the tag once and
    lists its objects in one call, whatever their number; the REST calls count in
    ``client.calls``. Raises :class:`NotFound` naming the tag (and the known ones)."""
    if not tag:
        return None
    tags = TagClient(client.params)
    try:
        tags.login()
        return tags.tagged(tag["category"], tag["name"], obj_type)
    finally:
        tags.close()
        client.calls += tags.calls


def choose_hosts(
    hosts: list[dict[str, Any]],
    clusters: list[str] | None = None,
    attribute: dict[str, str] | None = None,
    names: list[str] | None = None,
    tagged: set[str] | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The customer-dedicated hosts: in one of ``clusters`` (when given), carrying the custom
    attribute ``attribute["name"] == attribute["value"]`` (when given), among ``names`` (when
    given), whose moref id is in ``tagged`` (when not None: the hosts carrying a tag). Returns
    (usable host names, {host: reason} for chosen hosts that cannot be used now: disconnected or
    in maintenance mode). Pure."""
    chosen = [
        h
        for h in hosts
        if (not clusters or h["cluster"] in clusters)
        and (not names or h["name"] in names)
        and (not attribute or h["custom_attributes"].get(attribute["name"]) == attribute["value"])
        and (tagged is None or h["moid"] in tagged)
    ]
    usable, skipped = [], {}
    for host in chosen:
        if host["connection_state"] != "connected":
            skipped[host["name"]] = f"connection state {host['connection_state']}"
        elif host["maintenance_mode"]:
            skipped[host["name"]] = "in maintenance mode"
        else:
            usable.append(host["name"])
    return usable, skipped


def _disk_facts(devices: list[Any]) -> list[dict[str, Any]]:
    disks = []
    for device in devices or []:
        if not isinstance(device, vim.vm.device.VirtualDisk):
            continue
        backing = device.backing
        disks.append(
            {
                "label": device.deviceInfo.label if device.deviceInfo else str(device.key),
                "rdm": isinstance(backing, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
                "multi_writer": getattr(backing, "sharing", None) == "sharingMultiWriter",
            }
        )
    return disks


def discover_vms(client: VSphereClient) -> list[dict[str, Any]]:
    """Every VM (templates left out) with its folder, host, power state, disks and custom
    attributes: one PropertyCollector read (folders, hosts, VMs) and one for the names of the
    custom attributes."""
    found = client.retrieve_many(
        [
            (vim.Folder, ["name"]),
            (vim.HostSystem, ["name"]),
            (
                vim.VirtualMachine,
                [
                    "name",
                    "parent",
                    "runtime.powerState",
                    "runtime.host",
                    "config.template",
                    "config.hardware.device",
                    "customValue",
                ],
            ),
        ]
    )
    folders = {f.moid: f["name"] for f in found[vim.Folder]}
    hosts = {h.moid: h["name"] for h in found[vim.HostSystem]}
    field_keys = client.custom_field_keys()
    vms = []
    for vm in found[vim.VirtualMachine]:
        if vm["config.template"]:
            continue
        parent = vm["parent"]
        vms.append(
            {
                "name": vm["name"],
                "moid": vm.moid,
                "folder": folders.get(moid(parent)) if parent is not None else None,
                "power_state": str(vm["runtime.powerState"]),
                "host": hosts.get(moid(vm["runtime.host"])) if vm["runtime.host"] else None,
                "disks": _disk_facts(vm["config.hardware.device"]),
                "custom_attributes": custom_values(vm, field_keys),
            }
        )
    return sorted(vms, key=lambda v: v["name"])


def choose_vms(
    vms: list[dict[str, Any]],
    names: list[str] | None = None,
    folder: str | None = None,
    attribute: dict[str, str] | None = None,
    tagged: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The VMs named, plus those in ``folder``, plus those carrying the custom attribute, plus
    those whose moref id is in ``tagged`` (the VMs carrying a tag). Pure. Raises for a named VM
    that does not exist."""
    by_name = {vm["name"]: vm for vm in vms}
    missing = [n for n in names or [] if n not in by_name]
    if missing:
        raise NotFound(f"vms: {', '.join(missing)} not found in vCenter.")
    chosen = {n: by_name[n] for n in names or []}
    for vm in vms:
        if folder and vm["folder"] == folder:
            chosen[vm["name"]] = vm
        if attribute and vm["custom_attributes"].get(attribute["name"]) == attribute["value"]:
            chosen[vm["name"]] = vm
        if tagged is not None and vm["moid"] in tagged:
            chosen[vm["name"]] = vm
    return sorted(chosen.values(), key=lambda v: v["name"])
