# Copyright: vmrepl contributors
# Apache License 2.0
"""Virtual Protection Groups as desired state, through the ZVM's vpgSettings workflow.

plan (reads only: the VPG as ``GET /v1/vpgs`` shows it, its VMs from ``GET /v1/vms``, the names
the ZVM knows) → apply: create, or edit in place (open a settings object, compare exactly with
:func:`differences`, PUT the settings, add and remove VMs, commit).

Planning never writes, so check mode and preflight leave the ZVM as they found it. The ZVM only
shows a VPG's full settings through a settings object, which is a write (``POST /v1/vpgSettings``),
so the plan compares what the VPG itself shows (:data:`OBSERVED_FIELDS`: journal history, RPO
alert, priority, and the VMs) and lists the other given fields as *unverified*: they are
compared at apply, on the settings object the edit opens anyway, which is deleted again when
nothing differs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.errors import (
    ConfigurationError,
    NotFound,
    VmreplError,
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
#: The VPG's priority in ``GET /v1/vpgs`` (an integer) and in the settings (a name).
PRIORITY_NAMES = ("Low", "Medium", "High")
#: Managed fields that ``GET /v1/vpgs`` shows, so that a plan compares them without writing.
OBSERVED_FIELDS = ("journal_history_hours", "rpo_alert_seconds", "priority")
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


def protectability(
    vm: dict[str, Any],
    memberships: Mapping[str, tuple[str, str]],
    recovery_site: str,
    dc_marked: bool,
) -> str | None:
    """Why a VM cannot be protected by a VPG that recovers to ``recovery_site``, or None.
    ``vm`` holds ``disks`` (list of dicts with ``rdm`` and ``multi_writer``) as discovery reports
    them; ``memberships`` is the VM's other VPGs: VPG name → (recovery site id, site name). A VM
    may be in at most 3 VPGs, each to a different recovery site (the ZVM enforces it at commit).
    Pure."""
    disks = vm.get("disks", [])
    if dc_marked:
        return "marked as an Active Directory domain controller (not protectable)"
    if any(d.get("rdm") for d in disks):
        return "has an RDM disk (not protectable)"
    if any(d.get("multi_writer") for d in disks):
        return "has a multi-writer disk (not protectable)"
    if len(disks) > MAX_DISKS_PER_VM:
        return f"has {len(disks)} disks; at most {MAX_DISKS_PER_VM} can be protected"
    for vpg, (site, site_name) in sorted(memberships.items()):
        if site == recovery_site:
            return (
                f"is already recovered to site {site_name or site} by VPG {vpg}; each VPG of a "
                "VM must recover to a different site"
            )
    if len(memberships) >= MAX_VPGS_PER_VM:
        return (
            f"is already in {len(memberships)} VPGs ({', '.join(sorted(memberships))}); a VM "
            f"can be in at most {MAX_VPGS_PER_VM}"
        )
    return None


def observed(vpg: Mapping[str, Any]) -> dict[str, Any]:
    """The managed fields as ``GET /v1/vpgs`` shows them (:data:`OBSERVED_FIELDS`). Pure."""
    values: dict[str, Any] = {}
    minutes = zf(vpg, "HistoryStatusApi", "ConfiguredHistoryInMinutes")
    if isinstance(minutes, int | float):
        values["journal_history_hours"] = int(minutes // 60) if minutes % 60 == 0 else minutes / 60
    rpo = zf(vpg, "ConfiguredRpoSeconds")
    if rpo is not None:
        values["rpo_alert_seconds"] = rpo
    priority = zf(vpg, "Priority")
    if isinstance(priority, int) and 0 <= priority < len(PRIORITY_NAMES):
        values["priority"] = PRIORITY_NAMES[priority]
    elif isinstance(priority, str):
        values["priority"] = priority
    return values


def planned_differences(
    vpg: Mapping[str, Any] | None,
    desired: dict[str, Any],
    current_vms: set[str],
    desired_vms: set[str],
) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """What a plan can tell from reads alone: the differences (as :func:`differences`), and
    the given options it cannot compare without a settings object (checked at apply). A new
    VPG (``vpg`` None) differs in every given field. Pure."""
    if vpg is None:
        return differences(None, desired, current_vms, desired_vms), []
    seen = observed(vpg)
    comparable = {o: v for o, v in desired.items() if o in seen}
    diff = differences({}, {}, current_vms, desired_vms)
    for option, value in comparable.items():
        current = seen[option]
        same_priority = option == "priority" and str(current).lower() == str(value).lower()
        if current != value and not same_priority:
            diff[option] = (current, value)
    unverified = sorted(o for o in desired if o not in seen)
    return diff, unverified


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
    """The VPG as ``GET /v1/vpgs`` shows it (None: it does not exist) and its VMs."""

    vpg: dict[str, Any] | None
    vms: dict[str, str]  # VM name → identifier, in the VPG now


@dataclass
class VpgPlan:
    """What a run does to one VPG, from reads only: ``changes`` (option → before/after, in
    names) is empty when what can be read is as desired; ``unverified`` names the given options
    that only a settings object shows, compared at apply."""

    spec: VpgSpec
    state: VpgState
    desired: dict[str, Any]
    vm_ids: dict[str, str]
    names: Names
    changes: dict[str, dict[str, Any]]
    unverified: list[str] = field(default_factory=list)

    @property
    def needs_apply(self) -> bool:
        """Whether apply has anything to do or to check."""
        return bool(self.changes or self.unverified)


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

    def vm_identifiers(self) -> tuple[dict[str, str], dict[str, dict[str, tuple[str, str]]]]:
        """VM name → ZVM identifier at the protected (local) site, protected or not, and each
        VM identifier's VPGs: VPG name → (recovery site id, recovery site name)."""
        table = {
            str(zf(v, "VmName")): str(zf(v, "VmIdentifier"))
            for v in self.zvm.site_objects(self.local_site, "vms")
        }
        memberships: dict[str, dict[str, tuple[str, str]]] = {}
        for vm in self.zvm.vms():
            ident = str(zf(vm, "VmIdentifier"))
            table.setdefault(str(zf(vm, "VmName")), ident)
            site = str(zf(zf(vm, "RecoverySite") or {}, "identifier") or "")
            memberships.setdefault(ident, {})[str(zf(vm, "VpgName"))] = (
                site,
                str(zf(vm, "RecoverySiteName") or ""),
            )
        return table, memberships

    def vra_hosts(self) -> set[str]:
        """The hosts of this site that have an installed VRA (protection needs one)."""
        return {str(zf(v, "HostDisplayName")) for v in self.zvm.vras() if zf(v, "Status") == 0}

    def find(self, name: str) -> dict[str, Any] | None:
        return next((v for v in self.zvm.vpgs() if zf(v, "VpgName") == name), None)

    def read(self, name: str) -> VpgState:
        """The VPG and its VMs, from GET calls only."""
        vpg = self.find(name)
        if vpg is None:
            return VpgState(None, {})
        vms = {
            str(zf(v, "VmName")): str(zf(v, "VmIdentifier"))
            for v in self.zvm.vms(vpg_name=name)
            if zf(v, "VpgName") in (None, name)
        }
        return VpgState(vpg, vms)

    def apply(self, plan: VpgPlan) -> dict[str, dict[str, Any]]:
        """Create the VPG, or edit it in place, as planned; returns the changes made (empty
        when the settings object shows that nothing differs: it is deleted again)."""
        spec, state, desired, vm_ids = plan.spec, plan.state, plan.desired, plan.vm_ids
        wanted = {vm_ids[name] for name in spec.vms}
        if state.vpg is None:
            settings_id = self.zvm.vpg_settings_create()
            settings = self.zvm.vpg_settings_get(settings_id)
            set_path(settings, ("Basic", "Name"), spec.name)
            set_path(settings, ("Basic", "ProtectedSiteIdentifier"), self.local_site)
            set_path(
                settings, ("Basic", "RecoverySiteIdentifier"), spec.recovery_site or self.local_site
            )
            changes = plan.changes
        else:
            settings_id = self.zvm.vpg_settings_create(str(zf(state.vpg, "VpgIdentifier")))
            try:
                settings = self.zvm.vpg_settings_get(settings_id)
                in_vpg = {str(zf(v, "VmIdentifier")) for v in zf(settings, "Vms") or []}
                diff = differences(settings, desired, in_vpg, wanted)
            except Exception:
                self._discard(settings_id)
                raise
            if not diff:
                self._discard(settings_id)
                return {}
            changes = readable(diff, plan.names, vm_ids)
        for option, value in desired.items():
            set_path(settings, MANAGED_FIELDS[option], value)
        # The VM list is changed through its own endpoints, not through the PUT.
        settings_vms = [v for v in zf(settings, "Vms") or [] if zf(v, "VmIdentifier") in wanted]
        set_path(settings, ("Vms",), settings_vms)
        self.zvm.vpg_settings_put(settings_id, settings)
        present = {str(zf(v, "VmIdentifier")) for v in settings_vms}
        for ident in sorted(wanted - present):
            self.zvm.vpg_settings_add_vm(settings_id, ident)
        task = self.zvm.vpg_settings_commit(settings_id)
        self.zvm.wait_for_task(task, timeout=self.timeout)
        return changes

    def _discard(self, settings_id: str) -> None:
        """Delete a settings object that will not be committed (it is transient anyway)."""
        with contextlib.suppress(VmreplError):
            self.zvm.vpg_settings_delete(settings_id)

    def delete(self, state: VpgState, keep_recovery_volumes: bool) -> None:
        if state.vpg is None:
            return
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
        """Read the VPG (GET calls only) and compare it with ``spec``; refuse, before any
        change, VMs that cannot be protected (``chosen`` are the VMs as discovery reports them).
        With ``vras_required`` false (check mode: the same run may install them) a VM's host is
        not required to have a VRA yet."""
        recovery_site = spec.recovery_site or self.local_site
        names = self.names(recovery_site)
        desired = desired_values(spec, names)
        vm_ids, memberships = self.vm_identifiers()
        vra_hosts = self.vra_hosts()
        state = self.read(spec.name)
        refused = {}
        for vm in chosen:
            if vm["name"] in state.vms:
                continue
            dc = vm["custom_attributes"].get(dc_attribute, "")
            others = {
                vpg: site
                for vpg, site in memberships.get(vm_ids.get(vm["name"], ""), {}).items()
                if vpg != spec.name
            }
            reason = protectability(vm, others, recovery_site, dc.lower() == "true")
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
        diff, unverified = planned_differences(
            state.vpg, desired, set(state.vms.values()), {vm_ids[n] for n in spec.vms}
        )
        changes = readable(diff, names, vm_ids)
        if state.vpg is None:
            changes = {"vpg": {"before": None, "after": spec.name}, **changes}
        return VpgPlan(spec, state, desired, vm_ids, names, changes, unverified)

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
