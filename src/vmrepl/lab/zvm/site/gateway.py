"""Site gateways: what a simulator may do to a site's vCenter, here or at the peer.

A recovery operation runs on the simulator that received the API call, but its steps touch
two vCenters: the protected site's (power the source VMs off) and the recovery site's (create
and power on the recovered VMs). :class:`LocalGateway` acts on this simulator's vCenter;
:class:`RemoteGateway` asks the peer simulator to do the same through its private
``POST /lab/peer/rpc/{method}`` endpoint, which calls the peer's :class:`LocalGateway`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Protocol

from vmrepl.lab.zvm.errors import OperationFailed
from vmrepl.lab.zvm.inventory import (
    ROLE,
    ROLE_TEST,
    Inventory,
    object_identifier,
    split_identifier,
)
from vmrepl.lab.zvm.vcenter import Detail, VmSpec

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.peering import PeerClient, PeeringService


class SiteGateway(Protocol):
    @property
    def site_identifier(self) -> str: ...

    def inventory(self, detail: Detail = "basic") -> Inventory: ...

    def installed_vra_hosts(self) -> list[str]: ...

    def create_vms(self, specs: list[VmSpec]) -> list[str]: ...

    def power_on(self, vms: list[str], fail_boot: list[str] | None = None) -> list[str]: ...

    def power_off(self, vms: list[str]) -> None: ...

    def destroy(self, vms: list[str]) -> None: ...

    def mark(self, vms: list[str], marks: dict[str, str]) -> None: ...


class LocalGateway:
    """This simulator's own vCenter. VM arguments are ZVM identifiers (``<uuid>.<moref>``)."""

    def __init__(self, ctx: SiteContext) -> None:
        self.ctx = ctx
        #: the hosts with an installed VRA (app.py wires ``VraService.installed_hosts``: the VRA
        #: service calls the VPGs, which call the gateways, so the gateway takes a hook)
        self.installed_vra_hosts_hook: Callable[[], list[str]] = list

    @property
    def site_identifier(self) -> str:
        return self.ctx.site_identifier

    def _moref(self, identifier: str) -> str:
        parts = split_identifier(identifier)
        if parts is None or parts[0] != self.ctx.server_id:
            raise OperationFailed(f"{identifier} is not an object of this site's vCenter.")
        return parts[1]

    def inventory(self, detail: Detail = "basic") -> Inventory:
        return self.ctx.backend.inventory(detail)

    def installed_vra_hosts(self) -> list[str]:
        return self.installed_vra_hosts_hook()

    def create_vms(self, specs: list[VmSpec]) -> list[str]:
        morefs = self.ctx.backend.create_vms(specs)
        return [object_identifier(self.ctx.server_id, m) for m in morefs]

    def power_on(self, vms: list[str], fail_boot: list[str] | None = None) -> list[str]:
        """Power the VMs on; returns those that failed to boot: test VMs named (by their own
        or their source VM's name) in this site's ``fail_boot_vms`` fault or in
        ``fail_boot`` (the fault of the simulator that runs the operation)."""
        inventory = self.ctx.backend.inventory()
        start, failed = [], []
        for identifier in vms:
            vm = inventory.vm(identifier)
            if vm is None:
                continue
            source_name = vm.name.removesuffix(" - testing recovery")
            faults = self.ctx.faults
            if vm.marks.get(ROLE) == ROLE_TEST and (
                faults.boot_fails(vm.name, fail_boot) or faults.boot_fails(source_name, fail_boot)
            ):
                failed.append(identifier)
            else:
                start.append(vm.moref)
        self.ctx.backend.power_on(start)
        return failed

    def power_off(self, vms: list[str]) -> None:
        self.ctx.backend.power_off([self._moref(v) for v in vms])

    def destroy(self, vms: list[str]) -> None:
        self.ctx.backend.destroy([self._moref(v) for v in vms])

    def mark(self, vms: list[str], marks: dict[str, str]) -> None:
        for identifier in vms:
            self.ctx.backend.reconfigure(self._moref(identifier), marks=marks)

    # -- the peer's calls -------------------------------------------------------------------
    def call(self, method: str, args: dict[str, Any]) -> Any:
        """Serve one ``/lab/peer/rpc/{method}`` call (JSON in, JSON out)."""
        if method == "inventory":
            detail = args.get("detail", "basic")
            if detail not in ("none", "basic", "full"):
                raise KeyError(f"inventory detail {detail}")
            return self.inventory(detail).to_wire()
        if method == "installed_vra_hosts":
            return self.installed_vra_hosts()
        if method == "create_vms":
            return self.create_vms([VmSpec(**s) for s in args.get("specs", [])])
        if method == "power_on":
            return self.power_on(list(args.get("vms", [])), list(args.get("fail_boot", [])))
        if method == "power_off":
            self.power_off(list(args.get("vms", [])))
            return None
        if method == "destroy":
            self.destroy(list(args.get("vms", [])))
            return None
        if method == "mark":
            self.mark(list(args.get("vms", [])), dict(args.get("marks", {})))
            return None
        raise KeyError(method)


class RemoteGateway:
    """The peer simulator's vCenter, through its private RPC endpoint."""

    def __init__(self, site_identifier: str, client: PeerClient) -> None:
        self.site_identifier = site_identifier
        self.client = client

    def _call(self, method: str, **args: Any) -> Any:
        return self.client.rpc(method, args)

    def inventory(self, detail: Detail = "basic") -> Inventory:
        return Inventory.from_wire(self._call("inventory", detail=detail))

    def installed_vra_hosts(self) -> list[str]:
        return list(self._call("installed_vra_hosts"))

    def create_vms(self, specs: list[VmSpec]) -> list[str]:
        return list(self._call("create_vms", specs=[asdict(s) for s in specs]))

    def power_on(self, vms: list[str], fail_boot: list[str] | None = None) -> list[str]:
        return list(self._call("power_on", vms=vms, fail_boot=fail_boot or []))

    def power_off(self, vms: list[str]) -> None:
        self._call("power_off", vms=vms)

    def destroy(self, vms: list[str]) -> None:
        self._call("destroy", vms=vms)

    def mark(self, vms: list[str], marks: dict[str, str]) -> None:
        self._call("mark", vms=vms, marks=marks)


class Gateways:
    """The gateway to each site's vCenter: this one's, or a paired peer's."""

    def __init__(self, ctx: SiteContext, local: LocalGateway, peering: PeeringService) -> None:
        self.ctx = ctx
        self.local = local
        self.peering = peering

    def __call__(self, site: str) -> SiteGateway:
        if site == self.ctx.site_identifier:
            return self.local
        return RemoteGateway(site, self.peering.client(site))
