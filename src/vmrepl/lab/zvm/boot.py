"""The appliance's life: the ZVM answers only while its appliance VM runs.

A new site has no replication manager. The simulator process starts with the lab (it needs its
vCenter connection) but stays *dormant*, its ports reserved and refusing connections, until its
appliance exists: a VM in its own vCenter deployed from the lab's appliance OVF whose OVF property
``ip_address`` is the simulator's listen address (vcsim 0.24 keeps the properties a deployment
passes as extraConfig keys). Once that VM has been powered on for ``boot_seconds``, the ZVM
*boots*: it answers on its API and pairing ports, with the admin password the deployment gave
the appliance (property ``admin_password``; the configured password without one). When the VM
is powered off or removed the ZVM goes down again, keeping its state for the next boot.

A :class:`BootWatcher` thread looks every ``appliance_poll_seconds`` and calls back on boot and
shutdown. Until the ZVM has booted it reads every VM (name, power state, extraConfig) in one
PropertyCollector call; once booted, only its appliance VM, by moref, falling back to every VM
when that one is off, gone or no longer has this address.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from vmrepl.lab.zvm.vcenter import ApplianceVm, VCenterBackend

LOG = logging.getLogger(__name__)
#: the OVF properties of ``vmrepl/lab/assets/appliance/zvm-appliance.ovf`` that the simulator reads
IP_PROPERTY = "ip_address"
PASSWORD_PROPERTY = "admin_password"  # noqa: S105 - a property name, not a password


@dataclass(frozen=True)
class Boot:
    """What the ZVM booted from."""

    vm: str
    name: str
    admin_password: str | None


def appliance_of(vms: list[ApplianceVm], address: str) -> ApplianceVm | None:
    """This ZVM's appliance VM: the one given its address (a powered-on one first)."""
    mine = [vm for vm in vms if vm.properties.get(IP_PROPERTY) == address]
    mine.sort(key=lambda vm: (not vm.powered_on, vm.moref))
    return mine[0] if mine else None


class BootWatcher:
    def __init__(
        self,
        backend: VCenterBackend,
        address: str,
        boot_seconds: float,
        poll_seconds: float,
        on_boot: Callable[[Boot], None],
        on_shutdown: Callable[[], None],
    ) -> None:
        self.backend = backend
        self.address = address
        self.boot_seconds = boot_seconds
        self.poll_seconds = poll_seconds
        self.on_boot = on_boot
        self.on_shutdown = on_shutdown
        self.booted: Boot | None = None
        self._powered_since: tuple[str, float] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="zvm-boot", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step(self.look(), time.monotonic())
            except Exception as exc:  # vCenter unreachable: try again at the next poll
                LOG.warning("reading the appliance VM failed: %s", exc)
            self._stop.wait(self.poll_seconds)

    def look(self) -> list[ApplianceVm]:
        """The VMs that :meth:`step` needs: the booted appliance alone while it still runs
        with this address (one small read), else every VM."""
        if self.booted is not None:
            vm = self.backend.appliance_vm(self.booted.vm)
            if vm is not None and vm.powered_on and vm.properties.get(IP_PROPERTY) == self.address:
                return [vm]
        return self.backend.appliance_vms()

    def step(self, vms: list[ApplianceVm], now: float) -> None:
        """One look at the VMs: boot, stay, or go down."""
        vm = appliance_of(vms, self.address)
        if vm is None or not vm.powered_on:
            self._powered_since = None
            if self.booted is not None:
                LOG.info(
                    "appliance VM %s is %s: the ZVM stops",
                    self.booted.name,
                    "powered off" if vm else "gone",
                )
                self.booted = None
                self.on_shutdown()
            return
        if self._powered_since is None or self._powered_since[0] != vm.moref:
            self._powered_since = (vm.moref, now)
        if self.booted is None and now - self._powered_since[1] >= self.boot_seconds:
            self.booted = Boot(vm.moref, vm.name, vm.properties.get(PASSWORD_PROPERTY) or None)
            LOG.info("appliance VM %s has booted: the ZVM answers", vm.name)
            self.on_boot(self.booted)
