"""Maintenance at a simulated site: the VRA version the ZVM offers, hosts in maintenance mode and
what they do to the VRAs and VPGs, and the events of both.

- **A VRA release** (``POST /lab/vra-release``, ``vmrepl lab vra-release``) stands for the ZVM
  having been upgraded: ``GET /v1/localsite`` reports the new ``Version`` and every VRA still at
  the old one is outdated (``VraVersion`` differs from the site's version, ``UpgradeStatus`` 1)
  until ``POST /v1/vras/{id}/upgrade`` brings it to the site's version.
- **A host in maintenance mode** (vCenter's ``EnterMaintenanceMode_Task``): its VRA reports
  status 9 (HostInMaintenanceMode) and shuts down (its VM is powered off) once no powered-on VM
  but itself is left on the host, or after ``VRA_SHUTDOWN_WAIT_SECONDS`` (Zerto's documentation:
  "the VRA will wait for the virtual machines to be removed from the host, or for a period of 10
  minutes"). It stays off when the host exits maintenance mode until someone powers it on.
- **A VRA that is down** (host in maintenance, VRA VM powered off) stops the replication of the
  VPGs it serves: those whose protected VMs run on its host, those that recover to its host.
  They are NotMeetingSLA (substatus BitmapSync: the protected side tracks the changes) with no
  new checkpoints until the VRA is back; then a bitmap sync (``task_seconds`` of kind
  ``bitmap_sync``) runs before the substatus clears. The site of the VRA writes this into the VPG
  record (``vra_down``), which travels to the peer, so both sites report the same.

The watcher runs every heartbeat, at most once a second (one inventory read per round).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import TYPE_CHECKING, Any

from vmrepl.lab.zvm import clock
from vmrepl.lab.zvm.config import ZVM_DISPLAY_VERSION, ZVM_VERSION
from vmrepl.lab.zvm.errors import BadRequest
from vmrepl.lab.zvm.inventory import ROLE_VRA, Inventory, VmInfo
from vmrepl.lab.zvm.store import VpgRecord
from vmrepl.lab.zvm.vcenter import ROUND_MAX_AGE

if TYPE_CHECKING:
    from vmrepl.lab.zvm.context import SiteContext
    from vmrepl.lab.zvm.site.events import EventLog
    from vmrepl.lab.zvm.site.vpgs import VpgService

LOG = logging.getLogger(__name__)

#: how long a VRA waits for the VMs to leave its host in maintenance before it shuts down
VRA_SHUTDOWN_WAIT_SECONDS = 600.0
#: EventTypeApi values: 39 UpgradeVra (ZVML's list); 40 is the *task* type MaintainHost there,
#: used here for the host maintenance events too (the event type's own value was not found)
EVENT_UPGRADE_VRA = 39
EVENT_MAINTAIN_HOST = 40
_VERSION = re.compile(r"^\d+(\.\d+){1,3}$")


def version_key(version: str | None) -> tuple[int, ...]:
    """A dotted version as numbers (``10.0.60.1310`` → ``(10, 0, 60, 1310)``); () when not one."""
    if not version or not _VERSION.match(version):
        return ()
    return tuple(int(p) for p in version.split("."))


def display_version(version: str) -> str:
    """The display form of a ZVM version: ``10.0.60.1310`` → ``10.0 U6`` (the appliance's
    pattern: the third number is the update times ten); the version itself otherwise."""
    key = version_key(version)
    if len(key) >= 3 and key[2] % 10 == 0:
        return f"{key[0]}.{key[1]} U{key[2] // 10}" if key[2] else f"{key[0]}.{key[1]}"
    return version


def next_version(version: str) -> str:
    """The next update of a version: ``10.0.60.1310`` → ``10.0.70.1310``."""
    key = list(version_key(version))
    if len(key) < 3:
        return version + ".1"
    key[2] += 10
    return ".".join(str(p) for p in key)


class MaintenanceService:
    def __init__(self, ctx: SiteContext, events: EventLog, vpgs: VpgService) -> None:
        self.ctx = ctx
        self.events = events
        self.vpgs = vpgs
        self._lock = threading.Lock()
        self.version = ZVM_VERSION
        self.display = ZVM_DISPLAY_VERSION
        #: host moref → when this simulator saw it enter maintenance mode
        self.maintenance_since: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the release ------------------------------------------------------------------------
    def release(self, version: str | None) -> dict[str, Any]:
        """Make ``version`` (default: the next update) the site's version."""
        with self._lock:
            target = version or next_version(self.version)
            if not version_key(target):
                raise BadRequest(
                    f"version {target!r} is not a dotted version such as 10.0.70.1310."
                )
            if version_key(target) < version_key(self.version):
                raise BadRequest(
                    f"version {target} is older than the site's version {self.version}."
                )
            self.version, self.display = target, display_version(target)
            return self.release_json()

    def release_json(self) -> dict[str, Any]:
        return {"version": self.version, "display_version": self.display}

    def outdated(self, vra_version: str | None) -> bool:
        return version_key(vra_version) < version_key(self.version)

    # -- events -----------------------------------------------------------------------------
    def event(
        self,
        event_type: int,
        description: str,
        *,
        success: bool = True,
        user: str | None = None,
        vpgs: list[str] | None = None,
        hosts: list[str] | None = None,
    ) -> None:
        """Record an event in the site's event log (``events.py``): entity type VPG 0 when it
        names VPGs, else VRA 1, as that log orders them."""
        self.events.record(
            event_type,
            description,
            success=success,
            entity_type=0 if vpgs else 1,
            user=user or "",
            vpgs=list(vpgs or []),
            hosts=list(hosts or []),
        )

    # -- VPGs served by a VRA ---------------------------------------------------------------
    def served_by(self, inv: Inventory, host_moref: str) -> list[VpgRecord]:
        """The VPGs a VRA serves now: those whose protected VMs run on its host (where they
        run now, per vCenter), those that recover to its host."""
        me = self.ctx.site_identifier
        host_id = inv.ident(host_moref)
        found = []
        for vpg in self.ctx.store.live_vpgs():
            if vpg.operation is not None or vpg.recovered:
                continue
            protected = vpg.protected_site == me and any(
                _host_of(inv, vm.vm, vm.host) == host_moref for vm in vpg.vms
            )
            recovering = vpg.recovery_site == me and host_id in self.vpgs.recovery_hosts(vpg)
            if protected or recovering:
                found.append(vpg)
        return found

    def start_bitmap_sync(self, records: list[VpgRecord], until: float) -> None:
        for record in records:
            with self.ctx.store.lock:
                current = self.ctx.store.vpgs.get(record.identifier)
                if current is None or current.deleted:
                    continue
                current.bitmap_sync_until = max(current.bitmap_sync_until, until)
            self.vpgs.save(current)

    # -- the watcher ------------------------------------------------------------------------
    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="zvm-maintenance", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        interval = max(self.ctx.config.heartbeat_seconds, 1.0)
        while not self._stop.wait(interval):
            if not self.ctx.answering or not self.ctx.site_identifier:
                continue
            try:
                self.tick(self.ctx.backend.inventory(max_age=ROUND_MAX_AGE))
            except Exception:  # vCenter away for a moment: the next round catches up
                LOG.debug("maintenance round failed", exc_info=True)

    def tick(self, inv: Inventory | None = None) -> None:
        """One round: VRAs on hosts in maintenance shut down; the VPGs of VRAs that are down
        stop replicating, those of VRAs that came back start a bitmap sync."""
        inv = inv or self.ctx.backend.inventory()
        now = clock.now()
        vras: dict[str, VmInfo] = {}
        for vm in inv.vms_with_role(ROLE_VRA):
            if vm.host and vm.host not in vras:
                vras[vm.host] = vm
        with self.ctx.store.lock:
            busy = set(self.ctx.store.vra_activity)
        down: set[str] = set()
        for host_moref, vra in vras.items():
            host = inv.hosts.get(host_moref)
            if host is None:
                continue
            host_id = str(inv.ident(host_moref))
            if host.maintenance:
                since = self.maintenance_since.setdefault(host_moref, now)
                if since == now:
                    self.event(
                        EVENT_MAINTAIN_HOST,
                        f"Host {host.name} entered maintenance mode.",
                        hosts=[host_id],
                    )
                others = [
                    vm
                    for vm in inv.vms.values()
                    if vm.host == host_moref and vm.moref != vra.moref and vm.powered_on
                ]
                if vra.powered_on and (not others or now - since >= VRA_SHUTDOWN_WAIT_SECONDS):
                    self.ctx.backend.power_off([vra.moref])
                    vra.power = "poweredOff"
                    self.event(
                        EVENT_MAINTAIN_HOST,
                        f"The VRA on host {host.name} shut down: the host is in maintenance mode.",
                        hosts=[host_id],
                    )
            elif self.maintenance_since.pop(host_moref, None) is not None:
                self.event(
                    EVENT_MAINTAIN_HOST,
                    f"Host {host.name} exited maintenance mode.",
                    hosts=[host_id],
                )
            if (host.maintenance or not vra.powered_on) and host_moref not in busy:
                down.add(host_moref)
        self._mark(inv, down, now)

    def _mark(self, inv: Inventory, down: set[str], now: float) -> None:
        me = self.ctx.site_identifier
        wanted: dict[str, set[str]] = {}
        for host_moref in down:
            key = f"{me}/{inv.ident(host_moref)}"
            for vpg in self.served_by(inv, host_moref):
                wanted.setdefault(vpg.identifier, set()).add(key)
        bitmap = self.ctx.faults.task_seconds("bitmap_sync")
        for vpg in self.ctx.store.live_vpgs():
            mine = {k for k in vpg.vra_down if k.startswith(me + "/")}
            target = wanted.get(vpg.identifier, set())
            if mine == target:
                continue
            with self.ctx.store.lock:
                was_down = bool(vpg.vra_down)
                vpg.vra_down = sorted({k for k in vpg.vra_down if k not in mine} | target)
                if vpg.vra_down and not was_down:
                    for segment in vpg.segments:
                        if segment[1] is None:
                            segment[1] = max(now, float(segment[0] or now))
                elif was_down and not vpg.vra_down:
                    vpg.bitmap_sync_until = max(vpg.bitmap_sync_until, now + bitmap)
                    if not vpg.paused:
                        vpg.segments.append([max(now, vpg.sync_done), None])
            if target - mine:
                self.event(
                    EVENT_MAINTAIN_HOST,
                    f"VPG {vpg.name} stopped replicating: a VRA serving it is down.",
                    success=False,
                    vpgs=[vpg.identifier],
                )
            elif not vpg.vra_down:
                self.event(
                    EVENT_MAINTAIN_HOST,
                    f"VPG {vpg.name} replicates again; a bitmap sync runs.",
                    vpgs=[vpg.identifier],
                )
            self.vpgs.save(vpg)


def _host_of(inv: Inventory, vm_identifier: str, recorded: str | None) -> str | None:
    """Where a protected VM runs now (vCenter), else where it ran when it was added."""
    vm = inv.vm(vm_identifier)
    if vm is not None:
        return vm.host
    return inv.moref(recorded) if recorded else None
