"""A site's vCenter inventory as the ZVM sees it, and its ``*NativeApi`` JSON.

A snapshot is read live from vCenter (one PropertyCollector call, see ``vcenter.py``) for each
request that needs it. ZVM identifiers of vSphere objects are ``<vCenter instance UUID>.<moref>``;
snapshots travel between simulators as plain JSON (:meth:`Inventory.to_wire`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: extraConfig keys the simulator writes on the VMs it creates start with this
MARK_PREFIX = "zerto.vmrepl."
#: the name a ZVM gives the datacenter's root VM folder
ROOT_FOLDER_NAME = "/"
#: characters a moref keeps in an identifier; any other is written ``~XX`` (its UTF-8 bytes)
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._")


def object_identifier(server_id: str, moref: str) -> str:
    """The ZVM identifier of a vCenter object, ``<server id>.<moref>``, safe in a URL path:
    vcsim's datastore morefs hold ``/`` (``~2F`` here), and ``~`` itself is ``~7E``."""
    return f"{server_id}.{encode_moref(moref)}"


def encode_moref(moref: str) -> str:
    return "".join(c if c in _SAFE else "".join(f"~{b:02X}" for b in c.encode()) for c in moref)


def decode_moref(text: str) -> str | None:
    """The moref of an encoded one; None when it is not well formed."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "~":
            try:
                out.append(int(text[i + 1 : i + 3], 16))
            except ValueError:
                return None
            if len(text[i + 1 : i + 3]) != 2:
                return None
            i += 3
        else:
            out += text[i].encode()
            i += 1
    try:
        return out.decode()
    except UnicodeDecodeError:
        return None


def split_identifier(ident: str) -> tuple[str, str] | None:
    """(server id, moref) of a ZVM identifier; None when it is not one."""
    server, sep, encoded = ident.partition(".")
    moref = decode_moref(encoded) if sep else None
    return (server, moref) if server and moref else None


ROLE = MARK_PREFIX + "role"
ROLE_VRA = "vra"
ROLE_TEST = "test"
ROLE_RECOVERED = "recovered"
ROLE_REPLICA = "replica"
#: roles of the appliance's own VMs: never listed as protectable
APPLIANCE_ROLES = frozenset({ROLE_VRA, ROLE_TEST, ROLE_REPLICA})


@dataclass
class HostInfo:
    moref: str
    name: str
    version: str
    connection: str
    maintenance: bool
    cluster: str | None
    datastores: list[str]
    networks: list[str]
    pool: str | None


@dataclass
class DatastoreInfo:
    moref: str
    name: str
    capacity: int
    free: int
    accessible: bool


@dataclass
class NetworkInfo:
    moref: str
    name: str


@dataclass
class ClusterInfo:
    moref: str
    name: str
    hosts: list[str]
    pool: str | None


@dataclass
class FolderInfo:
    moref: str
    name: str
    parent: str | None
    holds_vms: bool


@dataclass
class PoolInfo:
    moref: str
    name: str
    owner: str | None


@dataclass
class NicInfo:
    label: str
    network: str | None
    mac: str | None


@dataclass
class DiskInfo:
    identifier: str
    capacity_kb: int


@dataclass
class VmInfo:
    moref: str
    name: str
    host: str | None
    power: str
    template: bool
    folder: str | None
    pool: str | None
    datastores: list[str]
    networks: list[str]
    cpus: int
    memory_mb: int
    guest_os: str
    instance_uuid: str | None
    marks: dict[str, str] = field(default_factory=dict)
    nics: list[NicInfo] = field(default_factory=list)
    disks: list[DiskInfo] = field(default_factory=list)

    @property
    def role(self) -> str | None:
        return self.marks.get(ROLE) or None

    @property
    def powered_on(self) -> bool:
        return self.power == "poweredOn"

    @property
    def storage_mb(self) -> int:
        return sum(d.capacity_kb for d in self.disks) // 1024


@dataclass
class Inventory:
    server_id: str
    datacenter: str
    vm_folder: str | None
    hosts: dict[str, HostInfo] = field(default_factory=dict)
    datastores: dict[str, DatastoreInfo] = field(default_factory=dict)
    networks: dict[str, NetworkInfo] = field(default_factory=dict)
    clusters: dict[str, ClusterInfo] = field(default_factory=dict)
    folders: dict[str, FolderInfo] = field(default_factory=dict)
    pools: dict[str, PoolInfo] = field(default_factory=dict)
    vms: dict[str, VmInfo] = field(default_factory=dict)

    # -- identifiers ------------------------------------------------------------------------
    def ident(self, moref: str | None) -> str | None:
        return None if moref is None else object_identifier(self.server_id, moref)

    def moref(self, ident: str | None) -> str | None:
        """The moref of an identifier of this vCenter, else None."""
        parts = split_identifier(ident) if ident else None
        if parts is None or parts[0] != self.server_id:
            return None
        return parts[1]

    def host(self, identifier: str | None) -> HostInfo | None:
        return self.hosts.get(self.moref(identifier) or "")

    def datastore(self, identifier: str | None) -> DatastoreInfo | None:
        return self.datastores.get(self.moref(identifier) or "")

    def network(self, identifier: str | None) -> NetworkInfo | None:
        return self.networks.get(self.moref(identifier) or "")

    def cluster(self, identifier: str | None) -> ClusterInfo | None:
        return self.clusters.get(self.moref(identifier) or "")

    def folder(self, identifier: str | None) -> FolderInfo | None:
        return self.folders.get(self.moref(identifier) or "")

    def pool(self, identifier: str | None) -> PoolInfo | None:
        return self.pools.get(self.moref(identifier) or "")

    def vm(self, identifier: str | None) -> VmInfo | None:
        return self.vms.get(self.moref(identifier) or "")

    def vms_with_role(self, role: str) -> list[VmInfo]:
        return [vm for vm in self.vms.values() if vm.role == role]

    # -- wire -------------------------------------------------------------------------------
    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Inventory:
        vms = {}
        for key, wire in data.get("vms", {}).items():
            raw = dict(wire)
            raw["nics"] = [NicInfo(**n) for n in raw.get("nics", [])]
            raw["disks"] = [DiskInfo(**d) for d in raw.get("disks", [])]
            vms[key] = VmInfo(**raw)
        return cls(
            server_id=data["server_id"],
            datacenter=data["datacenter"],
            vm_folder=data.get("vm_folder"),
            hosts={k: HostInfo(**v) for k, v in data.get("hosts", {}).items()},
            datastores={k: DatastoreInfo(**v) for k, v in data.get("datastores", {}).items()},
            networks={k: NetworkInfo(**v) for k, v in data.get("networks", {}).items()},
            clusters={k: ClusterInfo(**v) for k, v in data.get("clusters", {}).items()},
            folders={k: FolderInfo(**v) for k, v in data.get("folders", {}).items()},
            pools={k: PoolInfo(**v) for k, v in data.get("pools", {}).items()},
            vms=vms,
        )


# -- *NativeApi JSON (GET /v1/virtualizationsites/{siteId}/...) ------------------------------
def datastore_native(inv: Inventory, ds: DatastoreInfo) -> dict[str, Any]:
    return {
        "DatastoreName": ds.name,
        "DatastoreIdentifier": inv.ident(ds.moref),
        "OwningDatastoreCluster": None,
    }


def network_native(inv: Inventory, net: NetworkInfo) -> dict[str, Any]:
    return {"VirtualizationNetworkName": net.name, "NetworkIdentifier": inv.ident(net.moref)}


def _base_host(inv: Inventory, host: HostInfo) -> dict[str, Any]:
    return {
        "HostIdentifier": inv.ident(host.moref),
        "HostVersion": host.version,
        "VirtualizationHostName": host.name,
        "ConnectionStatus": "Connected" if host.connection == "connected" else "Disconnected",
    }


def host_native(inv: Inventory, host: HostInfo) -> dict[str, Any]:
    return {
        "AssociatedDatastores": [
            datastore_native(inv, inv.datastores[m]) for m in host.datastores if m in inv.datastores
        ],
        "AssociatedNetworks": [
            network_native(inv, inv.networks[m]) for m in host.networks if m in inv.networks
        ],
        **_base_host(inv, host),
    }


def cluster_native(inv: Inventory, cluster: ClusterInfo) -> dict[str, Any]:
    return {
        "ClusterIdentifier": inv.ident(cluster.moref),
        "VirtualizationClusterName": cluster.name,
        "AssociatedHosts": [_base_host(inv, inv.hosts[m]) for m in cluster.hosts if m in inv.hosts],
    }


def folder_native(inv: Inventory, folder: FolderInfo) -> dict[str, Any]:
    return {"FolderName": folder.name, "FolderIdentifier": inv.ident(folder.moref)}


def pool_native(inv: Inventory, pool: PoolInfo) -> dict[str, Any]:
    return {"ResourcepoolName": pool.name, "ResourcePoolIdentifier": inv.ident(pool.moref)}


def vm_native(inv: Inventory, vm: VmInfo) -> dict[str, Any]:
    host = inv.hosts.get(vm.host or "")
    datastore = inv.datastores.get(vm.datastores[0]) if vm.datastores else None
    return {
        "VmName": vm.name,
        "VmIdentifier": inv.ident(vm.moref),
        "VmInstanceIdentifier": vm.instance_uuid,
        "OwningHostIdentifier": inv.ident(vm.host),
        "OwningHostName": host.name if host else None,
        "OwningDatastoreIdentifier": inv.ident(datastore.moref) if datastore else None,
        "OwningDatastoreName": datastore.name if datastore else None,
        "GuestOs": vm.guest_os,
        "VmNetworkInformation": network_information(inv, vm),
        "VmPerfMetricInfo": {
            "ProvisionedStorageInMB": vm.storage_mb,
            "UsedStorageInMB": vm.storage_mb,
            "CpuCoresNum": vm.cpus,
            "MemorySizeInMB": vm.memory_mb,
        },
        "Nics": [{"NicIdentifier": nic.label} for nic in vm.nics],
        "Volumes": [
            {"VmVolumeIdentifier": disk.identifier, "PublicCloudVolumeIdentifier": None}
            for disk in vm.disks
        ],
        "IsAgentInstalled": False,
        "PlatformInformation": None,
    }


def network_information(inv: Inventory, vm: VmInfo) -> dict[str, Any]:
    return {
        "NetworkAdapters": [
            {
                "DisplayName": nic.label,
                "NetworkIdentifier": inv.ident(nic.network),
                "IpAddresses": [],
            }
            for nic in vm.nics
        ]
    }
