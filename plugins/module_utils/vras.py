# Copyright: vmrepl contributors
# Apache License 2.0
"""VRA rollout: one Virtual Replication Appliance on every chosen hypervisor of a site.

read (the ZVM's hosts, datastores, networks and VRAs) → plan (a pure function, :func:`plan`)
→ apply (every install of the site started at once, the tasks polled together). Static
addresses come from a per-site pool; a host keeps the address its VRA already has.
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    TaskFailed,
    TaskTimeout,
    VmreplError,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    VraStatus,
    ZvmClient,
    code_name,
    json_field,
    site_id,
)

#: VRA states (GET /v1/vras Status) that count as "there is no VRA on this host".
ABSENT_STATES = {VraStatus.NotInstalled, VraStatus.InstallationError}
#: States of a VRA whose install or change another run started and did not see finish.
BUSY_STATES = {VraStatus.Installing, VraStatus.UpdatingIpSettings}


@dataclass(frozen=True)
class IpPool:
    """A range of static addresses for the VRAs of one site."""

    start: str
    end: str
    subnet_mask: str
    gateway: str

    def addresses(self) -> list[str]:
        """Every address of the pool, validated: inside the subnet, the gateway left out."""
        try:
            first, last = ipaddress.IPv4Address(self.start), ipaddress.IPv4Address(self.end)
            gateway = ipaddress.IPv4Address(self.gateway)
            network = ipaddress.IPv4Network(f"{self.gateway}/{self.subnet_mask}", strict=False)
        except ValueError as exc:
            raise ConfigurationError(
                f"vra ip_pool: {exc}.", hint="Give IPv4 start, end, subnet_mask and gateway."
            ) from exc
        if first > last:
            raise ConfigurationError(
                f"vra ip_pool: start {first} is after end {last}.", hint="Swap them."
            )
        for name, address in (("start", first), ("end", last)):
            if address not in network:
                raise ConfigurationError(
                    f"vra ip_pool: {name} {address} is outside the subnet {network} "
                    f"of the gateway {gateway}.",
                    hint="Fix the pool or the subnet_mask.",
                )
            if address in (network.network_address, network.broadcast_address):
                raise ConfigurationError(
                    f"vra ip_pool: {name} {address} is the network or broadcast address of "
                    f"{network}.",
                    hint="Start and end the pool on host addresses.",
                )
        return [
            str(ipaddress.IPv4Address(n))
            for n in range(int(first), int(last) + 1)
            if ipaddress.IPv4Address(n) != gateway
        ]


def pool_conflicts(pools: dict[str, IpPool], reserved: dict[str, dict[str, str]]) -> list[str]:
    """What is wrong with the VRA address pools of the sites together: a pool that holds its
    own gateway or an address ``reserved`` at any site (``{site: {what: address}}``, e.g. the
    ZVM's), or two sites' pools that share addresses. Pure; one sentence per conflict."""
    conflicts = []
    ranges = {}
    for site, pool in pools.items():
        addresses = pool.addresses()  # validated (raises ConfigurationError)
        first, last = ipaddress.IPv4Address(pool.start), ipaddress.IPv4Address(pool.end)
        ranges[site] = (first, last)
        if first <= ipaddress.IPv4Address(pool.gateway) <= last:
            conflicts.append(
                f"vra_ip_pool of {site} ({first}-{last}) holds its own gateway {pool.gateway}."
            )
        taken = set(addresses)
        for owner, named in reserved.items():
            for what, address in named.items():
                if address in taken:
                    conflicts.append(
                        f"vra_ip_pool of {site} ({first}-{last}) holds {address}, the {what} "
                        f"address of {owner}."
                    )
    sites = sorted(ranges)
    for index, a in enumerate(sites):
        for b in sites[index + 1 :]:
            (a_first, a_last), (b_first, b_last) = ranges[a], ranges[b]
            if a_first <= b_last and b_first <= a_last:
                conflicts.append(
                    f"vra_ip_pool of {a} ({a_first}-{a_last}) and of {b} ({b_first}-{b_last}) "
                    f"share addresses from {max(a_first, b_first)}: every VRA needs its own."
                )
    return conflicts


#: The VRA settings' ranges (as the ZVM takes them): option → (lowest, highest). The module
#: refuses values outside them before anything is read (``_module.check_ranges``), and so do
#: :class:`VraSettings` for other callers; the request body (:func:`vra_create_body`) only
#: builds.
VRA_RANGES = {"memory_gb": (1, 16), "cpus": (1, 4)}


@dataclass(frozen=True)
class VraSettings:
    datastore: str
    network: str
    memory_gb: int = 3
    cpus: int = 1
    group: str = "default_group"
    ip_pool: IpPool | None = None  # None: DHCP

    def __post_init__(self) -> None:
        for name, (low, high) in VRA_RANGES.items():
            value = getattr(self, name)
            if not low <= value <= high:
                raise ConfigurationError(f"{name} must be {low} to {high}, not {value}.")


@dataclass
class Install:
    host: str
    host_id: str
    address: str | None  # None: DHCP


@dataclass
class Edit:
    host: str
    vra_id: str
    changes: dict[str, tuple[Any, Any]]  # VRA field → (current, desired)


@dataclass
class Plan:
    installs: list[Install] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    removals: list[dict[str, Any]] = field(default_factory=list)  # VRA objects
    present: list[str] = field(default_factory=list)  # hosts that already have a VRA
    busy: list[str] = field(default_factory=list)  # present, but still installing (a re-run)
    skipped: dict[str, str] = field(default_factory=dict)  # host → reason

    @property
    def changes(self) -> bool:
        return bool(self.installs or self.edits or self.removals)


def vra_host_name(vra: dict[str, Any]) -> str:
    return str(json_field(vra, "HostDisplayName") or "")


def vra_address(vra: dict[str, Any]) -> str | None:
    network = json_field(vra, "VraNetworkDataApi") or {}
    address = json_field(network, "VraIPAddress")
    return str(address) if address else None


def plan(
    hosts: Sequence[str],
    zvm_hosts: dict[str, str],
    vras: Sequence[dict[str, Any]],
    settings: VraSettings,
    state: str = "present",
    skipped: dict[str, str] | None = None,
) -> Plan:
    """What to do so that exactly the chosen ``hosts`` have a VRA (``present``) or none of them
    has one (``absent``).

    ``zvm_hosts`` maps host names to ZVM host identifiers; ``vras`` is GET /v1/vras;
    ``skipped`` names hosts left out for a reason (maintenance mode, disconnected).
    Pure: no I/O.
    """
    result = Plan(skipped=dict(skipped or {}))
    by_host = {vra_host_name(v): v for v in vras if json_field(v, "Status") not in ABSENT_STATES}
    wanted = [h for h in dict.fromkeys(hosts) if h not in result.skipped]
    unknown = [h for h in wanted if h not in zvm_hosts]
    if unknown:
        raise ConfigurationError(
            f"The ZVM does not know the hosts {', '.join(unknown)}.",
            hint="Check the names against vCenter; a host just added may need a ZVM refresh.",
        )
    if state == "absent":
        result.removals = [by_host[h] for h in wanted if h in by_host]
        return result

    result.present = [h for h in wanted if h in by_host]
    result.busy = [h for h in result.present if json_field(by_host[h], "Status") in BUSY_STATES]
    for host in result.present:
        if host in result.busy:
            continue
        changes = settings_drift(by_host[host], settings)
        if changes:
            result.edits.append(
                Edit(host, str(json_field(by_host[host], "VraIdentifier")), changes)
            )
    new_hosts = [h for h in wanted if h not in by_host]
    if settings.ip_pool is None:
        result.installs = [Install(h, zvm_hosts[h], None) for h in new_hosts]
        return result
    pool = settings.ip_pool.addresses()
    taken = {a for a in (vra_address(v) for v in vras) if a}
    free = [a for a in pool if a not in taken]
    if len(free) < len(new_hosts):
        raise ConfigurationError(
            f"vra ip_pool {settings.ip_pool.start}-{settings.ip_pool.end} has {len(free)} free "
            f"addresses for {len(new_hosts)} new VRAs ({len(taken & set(pool))} taken by VRAs).",
            hint="Widen the pool.",
        )
    result.installs = [Install(h, zvm_hosts[h], a) for h, a in zip(new_hosts, free, strict=False)]
    return result


def settings_drift(vra: dict[str, Any], settings: VraSettings) -> dict[str, tuple[Any, Any]]:
    """The VRA's memory, CPUs and group where they differ from the settings. Pure."""
    current = {
        "MemoryInGb": json_field(vra, "MemoryInGB"),
        "NumOfCpus": json_field(vra, "NumOfCpus"),
        "GroupName": json_field(vra, "VraGroup"),
    }
    desired = {
        "MemoryInGb": settings.memory_gb,
        "NumOfCpus": settings.cpus,
        "GroupName": settings.group,
    }
    return {
        key: (current[key], desired[key])
        for key in desired
        if current[key] is not None and current[key] != desired[key]
    }


def vra_create_body(
    host_id: str,
    datastore_id: str,
    network_id: str,
    *,
    memory_gb: int = 3,
    cpus: int = 1,
    group_name: str = "default_group",
    host_root_password: str | None = None,
    ip_address: str | None = None,
    subnet_mask: str | None = None,
    gateway: str | None = None,
    populate_post_installation: bool = False,
) -> dict[str, Any]:
    """The body of ``POST /v1/vras``: a static IP when ``ip_address`` is given, else DHCP; the
    ZVM's public key instead of the ESXi root password unless ``host_root_password`` is given.
    It only builds: the ranges of memory and CPUs are checked where the values come in
    (:data:`VRA_RANGES`: the module's options, :class:`VraSettings`), and the ZVM checks them
    again."""
    network: dict[str, Any] = {"VraIPConfigurationTypeApi": "Dhcp"}
    if ip_address:
        if not (subnet_mask and gateway):
            raise ConfigurationError(
                f"A static VRA address ({ip_address}) needs a subnet mask and a default gateway."
            )
        network = {
            "VraIPConfigurationTypeApi": "Static",
            "VraIPAddress": ip_address,
            "SubnetMask": subnet_mask,
            "DefaultGateway": gateway,
        }
    body: dict[str, Any] = {
        "HostIdentifier": host_id,
        "DatastoreIdentifier": datastore_id,
        "NetworkIdentifier": network_id,
        "MemoryInGb": memory_gb,
        "NumOfCpus": cpus,
        "GroupName": group_name,
        "UsePublicKeyInsteadOfCredentials": host_root_password is None,
        "PopulatePostInstallation": populate_post_installation,
        "VraNetworkDataApi": network,
    }
    if host_root_password is not None:
        body["HostRootPassword"] = host_root_password
    return body


def install_body(
    install: Install, settings: VraSettings, datastore_id: str, network_id: str
) -> dict[str, Any]:
    """The POST /v1/vras body for one install (no ESXi password: the ZVM uses its key)."""
    pool = settings.ip_pool
    return vra_create_body(
        install.host_id,
        datastore_id,
        network_id,
        memory_gb=settings.memory_gb,
        cpus=settings.cpus,
        group_name=settings.group,
        ip_address=install.address if pool else None,
        subnet_mask=pool.subnet_mask if pool else None,
        gateway=pool.gateway if pool else None,
    )


@dataclass
class Outcome:
    installed: list[str] = field(default_factory=list)
    edited: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


class VraRollout:
    """Reads the site from its ZVM, plans, and applies."""

    #: Seconds between two reads of GET /v1/vras while waiting for installs of an earlier run
    #: (the ZVM client's task polling interval).
    poll_interval = 2.0

    def __init__(self, zvm: ZvmClient, timeout: float = 1800.0) -> None:
        self.zvm = zvm
        self.timeout = timeout
        site = zvm.local_site()
        self.site_id = site_id(site)

    def _names(self, kind: str, name_key: str, id_key: str) -> dict[str, str]:
        return {
            str(json_field(o, name_key)): str(json_field(o, id_key))
            for o in self.zvm.site_objects(self.site_id, kind)
        }

    def read(self) -> tuple[dict[str, str], list[dict[str, Any]]]:
        hosts = self._names("hosts", "VirtualizationHostName", "HostIdentifier")
        return hosts, list(self.zvm.vras())

    def plan(
        self,
        hosts: Sequence[str],
        settings: VraSettings,
        state: str = "present",
        skipped: dict[str, str] | None = None,
    ) -> Plan:
        zvm_hosts, vras = self.read()
        result = plan(hosts, zvm_hosts, vras, settings, state, skipped)
        if state == "present":
            self.placement(settings)  # refuses unknown names now, not halfway through
        return result

    def rollout_plan(
        self,
        hosts: Sequence[str],
        settings: VraSettings,
        state: str = "present",
        skipped: dict[str, str] | None = None,
    ) -> RolloutPlan:
        """:meth:`plan` for the module's edge (reads only): see :class:`RolloutPlan`."""
        return RolloutPlan(self.plan(hosts, settings, state, skipped), settings, self)

    def placement(self, settings: VraSettings) -> tuple[str, str]:
        """The ZVM identifiers of the VRAs' datastore and network (refused when unknown)."""
        datastores = self._names("datastores", "DatastoreName", "DatastoreIdentifier")
        networks = self._names("networks", "VirtualizationNetworkName", "NetworkIdentifier")
        if settings.datastore not in datastores:
            raise ConfigurationError(
                f"vra datastore {settings.datastore!r} is not known to the ZVM.",
                hint=f"Choose one of: {', '.join(sorted(datastores))}.",
            )
        if settings.network not in networks:
            raise ConfigurationError(
                f"vra network {settings.network!r} is not known to the ZVM.",
                hint=f"Choose one of: {', '.join(sorted(networks))}.",
            )
        return datastores[settings.datastore], networks[settings.network]

    def apply(
        self,
        the_plan: Plan,
        settings: VraSettings,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> Outcome:
        """Start every install (or removal) of the plan at once, then poll them together.
        A failure on one host does not stop the others; each is reported by name."""
        outcome = Outcome()
        started: dict[str, tuple[str, list[str]]] = {}  # task id → (host, outcome list)
        if the_plan.installs:
            datastore_id, network_id = self.placement(settings)
            for item in the_plan.installs:
                body = install_body(item, settings, datastore_id, network_id)
                try:
                    started[self.zvm.install_vra(body)] = (item.host, outcome.installed)
                except VmreplError as exc:
                    outcome.failed[item.host] = str(exc)
        for edit in the_plan.edits:
            body = {key: new for key, (_, new) in edit.changes.items()}
            body["UsePublicKeyInsteadOfCredentials"] = True
            try:
                started[self.zvm.edit_vra(edit.vra_id, body)] = (edit.host, outcome.edited)
            except VmreplError as exc:
                outcome.failed[edit.host] = str(exc)
        for vra in the_plan.removals:
            host = vra_host_name(vra)
            try:
                started[self.zvm.uninstall_vra(str(json_field(vra, "VraIdentifier")))] = (
                    host,
                    outcome.removed,
                )
            except VmreplError as exc:
                outcome.failed[host] = str(exc)
        if the_plan.busy:
            self._wait_busy(the_plan.busy, outcome)
        if started:
            tasks = self.zvm.wait_for_tasks(
                list(started), timeout=self.timeout, on_progress=on_progress, raise_on_error=False
            )
            for task_id, (host, done) in started.items():
                task = tasks.get(task_id) or {}
                status = json_field(task, "Status") or {}
                if json_field(status, "State") == 6:
                    done.append(host)
                else:
                    reason = json_field(task, "CompleteReason") or json_field(
                        status, "CompleteReason"
                    )
                    outcome.failed[host] = str(reason or "the ZVM task did not complete")
        return outcome

    def _wait_busy(self, hosts: Sequence[str], outcome: Outcome) -> None:
        """Wait for VRAs that an interrupted run left installing (no task id to poll: read
        GET /v1/vras until they settle)."""
        pending = set(hosts)

        def settled() -> bool | None:
            states = {vra_host_name(v): json_field(v, "Status") for v in self.zvm.vras()}
            for host in list(pending):
                if states.get(host) not in BUSY_STATES:
                    pending.discard(host)
                    if states.get(host) in ABSENT_STATES or host not in states:
                        state = code_name(VraStatus, states.get(host) or VraStatus.NotInstalled)
                        outcome.failed[host] = f"the install started earlier ended in {state}"
            return True if not pending else None

        with contextlib.suppress(TaskTimeout):
            poll_until(
                settled,
                timeout=self.timeout,
                interval=self.poll_interval,
                timeout_error=lambda: TaskTimeout("still installing"),
            )
        for host in pending:
            outcome.failed[host] = "still installing after the timeout"


@dataclass
class RolloutPlan:
    """A rollout as the module's edge takes it (``_module.ensure``): the plan's ``changes``
    (``vra_hosts``: the hosts with a VRA, before and after; ``settings``: per host, the fields
    an edit changes), the ``facts`` to return, the message, and :meth:`apply`. ``rollout`` is
    None for a plan against a ZVM that is not deployed yet (check mode only)."""

    plan: Plan
    settings: VraSettings
    rollout: VraRollout | None = None

    @property
    def removing(self) -> list[str]:
        return [vra_host_name(v) for v in self.plan.removals]

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        plan, removing = self.plan, self.removing
        before = sorted(plan.present + removing)
        after = sorted((set(before) | {i.host for i in plan.installs}) - set(removing))
        changes: dict[str, tuple[Any, Any]] = {}
        if before != after:
            changes["vra_hosts"] = (before, after)
        if plan.edits:
            changes["settings"] = (
                {e.host: {k: old for k, (old, _) in e.changes.items()} for e in plan.edits},
                {e.host: {k: new for k, (_, new) in e.changes.items()} for e in plan.edits},
            )
        return changes

    @property
    def needs_apply(self) -> bool:
        """Changes to make, or installs another run started to wait for."""
        return self.plan.changes or bool(self.plan.busy)

    @property
    def facts(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "installed": [],
            "edited": [],
            "removed": [],
            "present": plan.present,
            "skipped_hosts": plan.skipped,
            "failed_hosts": {},
            "planned": [{"host": i.host, "address": i.address or "dhcp"} for i in plan.installs]
            + [
                {
                    "host": e.host,
                    "action": "edit",
                    "changes": {k: v for k, (_, v) in e.changes.items()},
                }
                for e in plan.edits
            ]
            + [{"host": h, "action": "uninstall"} for h in self.removing],
        }

    def _counts(self) -> str:
        return f"{len(self.plan.present)} present, {len(self.plan.skipped)} skipped."

    def summary(self, check_mode: bool) -> str:
        plan = self.plan
        if not plan.changes:
            return f"VRAs: nothing to change; {self._counts()}"
        planned = ", ".join(f"{i.host} ({i.address or 'DHCP'})" for i in plan.installs)
        return (
            f"VRAs: would install {len(plan.installs)}"
            + (f" ({planned})" if planned else "")
            + f", edit {len(plan.edits)}, uninstall {len(self.removing)}; {self._counts()}"
        )

    def apply(self) -> dict[str, Any]:
        """Carry out the plan; what got done, or TaskFailed naming the hosts that failed (with
        what got done in its details)."""
        if self.rollout is None:
            raise ConfigurationError("zvm_pending is for check mode only: deploy the ZVM first.")
        outcome = self.rollout.apply(self.plan, self.settings)
        result = {
            **self.facts,
            "installed": outcome.installed,
            "edited": outcome.edited,
            "removed": outcome.removed,
            "failed_hosts": outcome.failed,
            "changed": bool(outcome.installed or outcome.edited or outcome.removed),
        }
        raise_for_failures(outcome, result)
        result["msg"] = (
            f"VRAs: {len(outcome.installed)} installed, {len(outcome.edited)} edited, "
            f"{len(outcome.removed)} removed, "
            f"{len(self.plan.present)} already present, {len(self.plan.skipped)} skipped."
        )
        return result


def pending_plan(
    hosts: Sequence[str],
    settings: VraSettings,
    state: str = "present",
    skipped: dict[str, str] | None = None,
) -> RolloutPlan:
    """The plan against a ZVM that this run deploys first: it has no VRA yet and knows every
    host of its vCenter, so the plan is every chosen host, from the start of the address pool.
    Reads nothing; never applied (check mode only)."""
    known = {h: "" for h in hosts}
    return RolloutPlan(plan(hosts, known, [], settings, state, skipped), settings)


def raise_for_failures(outcome: Outcome, result: dict[str, Any]) -> None:
    """Raise when a host failed, carrying ``result`` (what did get done) to the module."""
    if outcome.failed:
        reasons = "; ".join(f"{h}: {r}" for h, r in sorted(outcome.failed.items()))
        raise TaskFailed(
            f"VRA changes failed on {len(outcome.failed)} host(s): {reasons}.",
            hint="The other hosts are done; fix the cause and run again to finish these.",
            details=result,
        )
