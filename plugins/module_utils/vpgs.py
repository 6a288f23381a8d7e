# Copyright: vmrepl contributors
# Apache License 2.0
"""Virtual Protection Groups as desired state, through the ZVM's vpgSettings workflow.

read (the VPG, its settings, the names the ZVM knows) → compare the managed fields (a pure
function, :func:`differences`) → act: create, or edit in place (PUT the settings, add and
remove VMs, commit). The settings object an edit opens is deleted when nothing changes.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.errors import (
    ConfigurationError,
    NotFound,
)
from ansible_collections.vmrepl.core.plugins.module_utils.zvm import ZvmClient
from ansible_collections.vmrepl.core.plugins.module_utils.zvm import field as zf

MAX_VPGS_PER_VM = 3
MAX_DISKS_PER_VM = 60

#: option name → settings path, for every field the module manages.
MANAGED_FIELDS: dict[str, tuple[str, ...]] = {
    "journal_history_hours": ("Basic", "JournalHistoryInHours"),
    "rpo_alert_seconds": ("Basic", "RpoInSeconds"),
    "priority": ("Basic", "Priority"),
    "test_interval_minutes": ("Basic", "TestIntervalInMinutes"),
    "wan_compression": ("Basic", "UseWanCompression"),
    "journal_hard_limit_mb": ("Journal", "Limitation", "HardLimitInMB"),
    "journal_warning_mb": ("Journal", "Limitation", "WarningThresholdInMB"),
    "journal_datastore": ("Journal", "DatastoreIdentifier"),
    "recovery_host": ("Recovery", "DefaultHostIdentifier"),
    "recovery_cluster": ("Recovery", "DefaultHostClusterIdentifier"),
    "recovery_datastore": ("Recovery", "DefaultDatastoreIdentifier"),
    "recovery_folder": ("Recovery", "DefaultFolderIdentifier"),
    "failover_network": ("Networks", "Failover", "Hypervisor", "DefaultNetworkIdentifier"),
    "test_network": ("Networks", "FailoverTest", "Hypervisor", "DefaultNetworkIdentifier"),
}
#: Fields whose value is a name the module resolves to a ZVM identifier, and the kind to look in.
NAMED_FIELDS = {
    "journal_datastore": "datastores",
    "recovery_host": "hosts",
    "recovery_cluster": "hostclusters",
    "recovery_datastore": "datastores",
    "recovery_folder": "folders",
    "failover_network": "networks",
    "test_network": "networks",
}
NAME_KEYS = {
    "datastores": ("DatastoreName", "DatastoreIdentifier"),
    "hosts": ("VirtualizationHostName", "HostIdentifier"),
    "hostclusters": ("VirtualizationClusterName", "ClusterIdentifier"),
    "folders": ("FolderName", "FolderIdentifier"),
    "networks": ("VirtualizationNetworkName", "NetworkIdentifier"),
}


@dataclass
class VpgSpec:
    """The desired VPG. ``fields`` holds option name → value (names, not identifiers) for the
    options that were given; the others are left as the ZVM has them."""

    name: str
    vms: list[str]
    fields: dict[str, Any]
    recovery_site: str | None = None  # identifier; None: the local site (local edition)


@dataclass
class Names:
    """Name ↔ identifier tables of one site, by kind."""

    by_kind: dict[str, dict[str, str]] = field(default_factory=dict)

    def identifier(self, kind: str, name: str, option: str) -> str:
        table = self.by_kind.get(kind, {})
        if name in table:
            return table[name]
        if name in table.values():  # an identifier given as is
            return name
        known = ", ".join(sorted(table)) or "none"
        raise ConfigurationError(
            f"{option}: {name!r} is not known at the recovery site.", hint=f"Known: {known}."
        )

    def name(self, kind: str, identifier: Any) -> Any:
        for name, ident in self.by_kind.get(kind, {}).items():
            if ident == identifier:
                return name
        return identifier


def get_path(obj: Any, path: tuple[str, ...]) -> Any:
    return zf(obj, *path)


def set_path(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``obj[path]`` matching existing keys case-insensitively, creating what is missing."""
    node = obj
    for key in path[:-1]:
        existing = next((k for k in node if k.lower() == key.lower()), None)
        if existing is None or not isinstance(node[existing], dict):
            node[existing or key] = {}
        node = node[existing or key]
    last = next((k for k in node if k.lower() == path[-1].lower()), path[-1])
    node[last] = value


def desired_values(spec: VpgSpec, names: Names) -> dict[str, Any]:
    """The managed fields as the settings object must hold them (names → identifiers)."""
    values: dict[str, Any] = {}
    for option, value in spec.fields.items():
        if value is None:
            continue
        kind = NAMED_FIELDS.get(option)
        values[option] = names.identifier(kind, value, option) if kind else value
    return values


def differences(
    settings: dict[str, Any] | None,
    desired: dict[str, Any],
    current_vms: set[str],
    desired_vms: set[str],
) -> dict[str, tuple[Any, Any]]:
    """option → (current, desired) for every managed field that differs, and ``vms``. Pure."""
    diff: dict[str, tuple[Any, Any]] = {}
    for option, value in desired.items():
        current = get_path(settings, MANAGED_FIELDS[option]) if settings else None
        same_priority = option == "priority" and str(current).lower() == str(value).lower()
        if current != value and not same_priority:
            diff[option] = (current, value)
    if current_vms != desired_vms:
        diff["vms"] = (sorted(current_vms), sorted(desired_vms))
    return diff


def protectability(vm: dict[str, Any], vpg_count: int, dc_marked: bool) -> str | None:
    """Why a VM cannot be protected, or None. ``vm`` holds ``disks`` (list of dicts with
    ``rdm`` and ``multi_writer``) as discovery reports them. Pure."""
    disks = vm.get("disks", [])
    if dc_marked:
        return "marked as an Active Directory domain controller (not protectable)"
    if any(d.get("rdm") for d in disks):
        return "has an RDM disk (not protectable)"
    if any(d.get("multi_writer") for d in disks):
        return "has a multi-writer disk (not protectable)"
    if len(disks) > MAX_DISKS_PER_VM:
        return f"has {len(disks)} disks; at most {MAX_DISKS_PER_VM} can be protected"
    if vpg_count >= MAX_VPGS_PER_VM:
        return f"is already in {vpg_count} VPGs; a VM can be in at most {MAX_VPGS_PER_VM}"
    return None


def readable(
    diff: dict[str, tuple[Any, Any]], names: Names, vm_ids: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """The differences with names instead of identifiers, for people. Pure."""
    vm_names = {ident: name for name, ident in vm_ids.items()}
    changes: dict[str, dict[str, Any]] = {}
    for option, (old, new) in diff.items():
        if option == "vms":
            changes[option] = {
                "before": sorted(vm_names.get(i, i) for i in old),
                "after": sorted(vm_names.get(i, i) for i in new),
            }
        elif option in NAMED_FIELDS:
            kind = NAMED_FIELDS[option]
            changes[option] = {"before": names.name(kind, old), "after": names.name(kind, new)}
        else:
            changes[option] = {"before": old, "after": new}
    return changes


@dataclass
class VpgState:
    vpg: dict[str, Any] | None
    settings_id: str | None
    settings: dict[str, Any] | None
    vms: dict[str, str]  # VM name → identifier, in the VPG now


@dataclass
class VpgPlan:
    """What a run does to one VPG: ``changes`` (option → before/after, in names) is empty when
    the VPG is as desired. ``state`` holds the settings object opened to read it."""

    spec: VpgSpec
    state: VpgState
    desired: dict[str, Any]
    vm_ids: dict[str, str]
    changes: dict[str, dict[str, Any]]


class VpgManager:
    def __init__(self, zvm: ZvmClient, timeout: float = 1800.0) -> None:
        self.zvm = zvm
        self.timeout = timeout
        site = zvm.local_site()
        self.local_site = str(
            zf(site, "SiteIdentifier") or zf(zf(site, "Link") or {}, "identifier")
        )

    def names(self, site_id: str) -> Names:
        tables = Names()
        for kind, (name_key, id_key) in NAME_KEYS.items():
            tables.by_kind[kind] = {
                str(zf(o, name_key)): str(zf(o, id_key))
                for o in self.zvm.site_objects(site_id, kind)
            }
        return tables

    def vm_identifiers(self) -> tuple[dict[str, str], Counter[str]]:
        """VM name → ZVM identifier at the protected (local) site, protected or not, and how
        many VPGs each VM identifier is in."""
        table = {
            str(zf(v, "VmName")): str(zf(v, "VmIdentifier"))
            for v in self.zvm.site_objects(self.local_site, "vms")
        }
        counts: Counter[str] = Counter()
        for vm in self.zvm.vms():
            ident = str(zf(vm, "VmIdentifier"))
            table.setdefault(str(zf(vm, "VmName")), ident)
            counts[ident] += 1
        return table, counts

    def vra_hosts(self) -> set[str]:
        """The hosts of this site that have an installed VRA (protection needs one)."""
        return {str(zf(v, "HostDisplayName")) for v in self.zvm.vras() if zf(v, "Status") == 0}

    def find(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.zvm.vpgs() if zf(v, "VpgName") == name), None)

    def read(self, name: str) -> VpgState:
        vpg = self.find(name)
        if vpg is None:
            return VpgState(None, None, None, {})
        settings_id = self.zvm.vpg_settings_create(str(zf(vpg, "VpgIdentifier")))
        settings = self.zvm.vpg_settings_get(settings_id)
        in_vpg = {str(zf(v, "VmIdentifier")) for v in zf(settings, "Vms") or []}
        names = {
            str(zf(v, "VmIdentifier")): str(zf(v, "VmName")) for v in self.zvm.vms(vpg_name=name)
        }
        return VpgState(vpg, settings_id, settings, {names.get(i, i): i for i in in_vpg})

    def discard(self, state: VpgState) -> None:
        """Delete the settings object :meth:`read` opened (it is transient anyway)."""
        if state.settings_id:
            self.zvm.vpg_settings_delete(state.settings_id)

    def apply(self, plan: VpgPlan) -> str:
        """Create the VPG or edit it in place, as planned; returns the commit task."""
        spec, state, desired, vm_ids = plan.spec, plan.state, plan.desired, plan.vm_ids
        if state.settings_id is None:
            settings_id = self.zvm.vpg_settings_create()
            settings = self.zvm.vpg_settings_get(settings_id)
            set_path(settings, ("Basic", "Name"), spec.name)
            set_path(settings, ("Basic", "ProtectedSiteIdentifier"), self.local_site)
            set_path(
                settings, ("Basic", "RecoverySiteIdentifier"), spec.recovery_site or self.local_site
            )
        else:
            settings_id = state.settings_id
            settings = copy.deepcopy(state.settings or {})
        for option, value in desired.items():
            set_path(settings, MANAGED_FIELDS[option], value)
        wanted = {vm_ids[name] for name in spec.vms}
        # The VM list is changed through its own endpoints, not through the PUT.
        settings_vms = [v for v in zf(settings, "Vms") or [] if zf(v, "VmIdentifier") in wanted]
        set_path(settings, ("Vms",), settings_vms)
        self.zvm.vpg_settings_put(settings_id, settings)
        present = {str(zf(v, "VmIdentifier")) for v in settings_vms}
        for ident in sorted(wanted - present):
            self.zvm.vpg_settings_add_vm(settings_id, ident)
        task = self.zvm.vpg_settings_commit(settings_id)
        self.zvm.wait_for_task(task, timeout=self.timeout)
        return task

    def delete(self, state: VpgState, keep_recovery_volumes: bool) -> None:
        if state.vpg is None:
            return
        self.discard(state)
        task = self.zvm.delete_vpg(
            str(zf(state.vpg, "VpgIdentifier")), keep_recovery_volumes=keep_recovery_volumes
        )
        if task:
            self.zvm.wait_for_task(str(task), timeout=self.timeout)

    def plan(
        self,
        spec: VpgSpec,
        chosen: list[dict[str, Any]],
        dc_attribute: str,
        vras_required: bool = True,
    ) -> VpgPlan:
        """Read the VPG and compare it with ``spec``; refuse, before any change, VMs that
        cannot be protected (``chosen`` are the VMs as discovery reports them). With
        ``vras_required`` false (check mode: the same run may install them) a VM's host is not
        required to have a VRA yet."""
        names = self.names(spec.recovery_site or self.local_site)
        desired = desired_values(spec, names)
        vm_ids, vpg_counts = self.vm_identifiers()
        vra_hosts = self.vra_hosts()
        state = self.read(spec.name)
        try:
            refused = {}
            for vm in chosen:
                if vm["name"] in state.vms:
                    continue
                dc = vm["custom_attributes"].get(dc_attribute, "")
                reason = protectability(
                    vm, vpg_counts[vm_ids.get(vm["name"], "")], dc.lower() == "true"
                )
                if reason is None and vm["name"] not in vm_ids:
                    reason = "is not known to the ZVM of the protected site"
                if reason is None and vras_required and vm["host"] not in vra_hosts:
                    reason = (
                        f"runs on host {vm['host']}, which has no installed VRA (a host in "
                        "maintenance mode or disconnected is skipped; run again when it is back)"
                    )
                if reason:
                    refused[vm["name"]] = reason
            if refused:
                raise ConfigurationError(
                    f"VPG {spec.name}: {len(refused)} VM(s) cannot be protected: "
                    + "; ".join(f"{n} {r}" for n, r in sorted(refused.items())),
                    hint="Leave them out of the VPG; nothing was changed.",
                    details={"refused": refused},
                )
            diff = differences(
                state.settings, desired, set(state.vms.values()), {vm_ids[n] for n in spec.vms}
            )
        except Exception:
            self.discard(state)
            raise
        changes = readable(diff, names, vm_ids)
        if state.vpg is None:
            changes = {"vpg": {"before": None, "after": spec.name}, **changes}
        return VpgPlan(spec, state, desired, vm_ids, changes)

    def recovery_site_id(self, wanted: str | None, edition: str) -> str:
        """The recovery site: the local site (local edition), or the named / only paired peer."""
        if edition == "local":
            return self.local_site
        peers = list(self.zvm.peer_sites())
        if wanted:
            for peer in peers:
                ident = str(zf(zf(peer, "Link") or {}, "identifier") or zf(peer, "SiteIdentifier"))
                if wanted in (ident, zf(peer, "PeerSiteName")):
                    return ident
            raise NotFound(
                f"recovery_site {wanted!r} is not a peer of this site.",
                hint="Pair the sites first (pair_sites.yml).",
            )
        if len(peers) != 1:
            raise ConfigurationError(
                f"This site has {len(peers)} peer sites; name the recovery_site.",
                hint="Pair the sites first (pair_sites.yml)." if not peers else None,
            )
        peer = peers[0]
        return str(zf(zf(peer, "Link") or {}, "identifier") or zf(peer, "SiteIdentifier"))
