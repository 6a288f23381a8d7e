# Copyright: vmrepl contributors
# Apache License 2.0
"""The isolated ("bubble") network failover tests run in: a standard port group on a vSwitch
without uplinks, on every recovery host. Test VMs on it reach each other on the same host and
nothing else - not the production network, not the customer's clients.

read (each host's vSwitches and port groups: two PropertyCollector calls) → plan per host (a
pure function, :func:`plan_hosts`) → act: add the vSwitch and the port group where absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    NotFound,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.vsphere import (
    VSphereClient,
    fault_message,
    vim,
)

DEFAULT_VSWITCH = "vmrepl-bubble"


@dataclass
class HostNetworks:
    """One host's standard networking as plain data: vSwitch name → its uplinks (physical
    NICs), port group name → its vSwitch."""

    vswitches: dict[str, list[str]] = field(default_factory=dict)
    portgroups: dict[str, str] = field(default_factory=dict)


@dataclass
class HostPlan:
    host: str
    add_vswitch: bool
    add_portgroup: bool

    @property
    def changes(self) -> bool:
        return self.add_vswitch or self.add_portgroup


def host_networks(info: Any) -> HostNetworks:
    """A ``vim.host.NetworkInfo`` as :class:`HostNetworks`."""
    result = HostNetworks()
    if info is None:
        return result
    for switch in info.vswitch or []:
        result.vswitches[switch.name] = [str(p) for p in switch.pnic or []]
    for portgroup in info.portgroup or []:
        result.portgroups[portgroup.spec.name] = portgroup.spec.vswitchName
    return result


def plan_hosts(
    networks: Mapping[str, HostNetworks], name: str, vswitch: str, distributed: Sequence[str]
) -> list[HostPlan]:
    """What each host needs for an isolated port group ``name`` on ``vswitch``. Pure.

    Refuses (ConfigurationError) a name that would not be isolated: a distributed port group of
    that name, or a port group of that name on a vSwitch with uplinks, or ``vswitch`` itself
    having uplinks.
    """
    if name in distributed:
        raise ConfigurationError(
            f"{name} is a distributed port group: a bubble network is a standard port group "
            "without uplinks.",
            hint="Choose another name for the test network, or leave it empty to test in the "
            "VPG's own test network.",
        )
    plans = []
    for host, nets in sorted(networks.items()):
        existing = nets.portgroups.get(name)
        switch = existing or vswitch
        uplinks = nets.vswitches.get(switch, [])
        if uplinks:
            where = f"port group {name} is" if existing else f"vSwitch {switch} is"
            raise ConfigurationError(
                f"On host {host}, {where} connected to uplinks {', '.join(uplinks)}: a test "
                "network there would not be isolated.",
                hint="Choose another name for the test network (or for its vSwitch).",
            )
        plans.append(
            HostPlan(
                host=host,
                add_vswitch=existing is None and vswitch not in nets.vswitches,
                add_portgroup=existing is None,
            )
        )
    return plans


def read_hosts(client: VSphereClient, names: Sequence[str]) -> dict[str, Any]:
    """Host name → reference for the named hosts (all must exist)."""
    wanted = set(names)
    hosts = client.retrieve(vim.HostSystem, ["name"])
    found = {h["name"]: h.ref for h in hosts if h["name"] in wanted}
    missing = sorted(wanted - set(found))
    if missing:
        raise NotFound(
            f"Host(s) {', '.join(missing)} are not in vCenter {client.params.hostname}.",
            hint="The VPG's recovery hosts must be hosts of the recovery site's vCenter.",
        )
    return found


def plan(
    client: VSphereClient, hosts: Sequence[str], name: str, vswitch: str = DEFAULT_VSWITCH
) -> tuple[dict[str, Any], list[HostPlan]]:
    """Read the hosts and plan the isolated network on each; a name vSphere or the ZVM would
    not take (over 80 characters, unsafe characters) is refused before anything is read."""
    from ansible_collections.vmrepl.core.plugins.module_utils.vpgs import (
        NETWORK_NAME_MAX,
        check_name,
    )

    problems = check_name(
        name,
        "test network (name; recovery_test_network, vmrepl --test-network)",
        "its name",
        NETWORK_NAME_MAX,
    ) + check_name(vswitch, "test network vSwitch (vswitch)", "its name", NETWORK_NAME_MAX)
    if problems:
        raise ConfigurationError("; ".join(problems) + ".", hint="Nothing was changed.")
    refs = read_hosts(client, hosts)
    infos = client.host_networking(list(refs.values()))
    by_moid = {ref._moId: host for host, ref in refs.items()}
    networks = {by_moid[moid]: host_networks(info) for moid, info in infos.items()}
    distributed = [
        p["name"] for p in client.retrieve(vim.dvs.DistributedVirtualPortgroup, ["name"])
    ]
    return refs, plan_hosts(networks, name, vswitch, distributed)


def apply(
    client: VSphereClient,
    refs: Mapping[str, Any],
    plans: Sequence[HostPlan],
    name: str,
    vswitch: str = DEFAULT_VSWITCH,
    vlan_id: int = 0,
) -> dict[str, str]:
    """Carry out the plans; returns host → what was done (``added``, ``present``)."""
    done: dict[str, str] = {}
    for item in plans:
        host = refs[item.host]
        if item.add_vswitch:
            client.add_host_vswitch(host, vswitch)
        if not item.add_portgroup:
            done[item.host] = "present"
            continue
        try:
            client.ensure_host_portgroup(host, name, vlan_id=vlan_id, vswitch=vswitch)
        except vim.fault.DuplicateName:
            # vcsim files a standard port group as one network of the datacenter and refuses
            # the same name on a second host; vCenter itself joins them. Either way the
            # network exists.
            done[item.host] = "present" if not item.add_vswitch else "added"
            continue
        except vim.fault.VimFault as exc:
            raise ConfigurationError(
                f"Host {item.host} refused the port group {name}: {fault_message(exc)}."
            ) from exc
        done[item.host] = "added"
    return done


@dataclass
class NetworkPlan:
    """The isolated network on every host, as the module's edge takes it (``_module.ensure``):
    ``changes`` (the hosts that have it, before and after), ``facts`` (per host, C(present) or
    C(would add)), the message and :meth:`apply`."""

    client: VSphereClient
    refs: Mapping[str, Any]
    hosts: list[HostPlan]
    name: str
    vswitch: str = DEFAULT_VSWITCH
    vlan_id: int = 0

    @property
    def missing(self) -> list[str]:
        return [item.host for item in self.hosts if item.changes]

    @property
    def changes(self) -> dict[str, tuple[Any, Any]]:
        every = sorted(item.host for item in self.hosts)
        if not self.missing:
            return {}
        return {"hosts": ([h for h in every if h not in self.missing], every)}

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "hosts": {item.host: "would add" if item.changes else "present" for item in self.hosts}
        }

    def _message(self, added: Sequence[str], would: bool) -> str:
        every = sorted(item.host for item in self.hosts)
        if not added:
            return f"Test network {self.name}: present on {', '.join(every)}"
        return f"Test network {self.name}: {'would be ' if would else ''}added on " + ", ".join(
            added
        )

    def summary(self, check_mode: bool) -> str:
        return self._message(self.missing, would=check_mode)

    def apply(self) -> dict[str, Any]:
        done = apply(self.client, self.refs, self.hosts, self.name, self.vswitch, self.vlan_id)
        changed = "added" in done.values()
        return {
            "changed": changed,
            "hosts": done,
            "msg": self._message(self.missing if changed else [], would=False),
        }


def network_plan(
    client: VSphereClient,
    hosts: Sequence[str],
    name: str,
    vswitch: str = DEFAULT_VSWITCH,
    vlan_id: int = 0,
) -> NetworkPlan:
    """:func:`plan` for the module's edge (reads only)."""
    refs, plans = plan(client, hosts, name, vswitch)
    return NetworkPlan(client, refs, plans, name, vswitch, vlan_id)
