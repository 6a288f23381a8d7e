# Copyright: vmrepl contributors
# Apache License 2.0
"""A hypervisor into maintenance mode and back, the way Zerto's documentation says ("Managing
Protection During VMware Host Maintenance"):

- **enter** - the protected VMs of the site that run on the host are vMotioned to other hosts
  with a running VRA (so that the VRA has nothing left to wait for); the VMs that recover to the
  host's VRA get another recovery VRA (``changerecoveryvra`` potentials → validate → execute);
  then the host enters maintenance mode, and its VRA shuts down.
- **exit** - the host exits maintenance mode, its VRA is powered on again (the documentation:
  "When the host exits maintenance mode, the VRA must be manually powered on"), and the run
  waits for the VRA to be Installed and the VPGs back to MeetingSLA, out of their syncs.

The plan reads only (``validate`` is the ZVM's test of a change, it changes nothing); the apply
makes the changes in that order. The VMs stay where they were moved after the maintenance."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.vmrepl.core.plugins.module_utils.clients.errors import (
    ConfigurationError,
    OperationFailed,
    Refused,
)
from ansible_collections.vmrepl.core.plugins.module_utils.clients.wait import poll_until
from ansible_collections.vmrepl.core.plugins.module_utils.clients.zvm import (
    VraStatus,
    code_name,
    json_field,
    site_id,
)
from ansible_collections.vmrepl.core.plugins.module_utils.upgrade import sla_problems

STATES = ("enter", "exit")


@dataclass
class HostView:
    """The host as vCenter and the ZVM see it."""

    name: str
    ref: Any
    in_maintenance: bool
    vra: dict[str, Any] | None
    vra_vm: Any = None
    vra_power: str | None = None


@dataclass
class MaintenancePlan:
    site: str
    host: str
    state: str
    found: bool
    #: protected VM name → (its moref object, the target host name)
    moves: dict[str, tuple[Any, str]] = field(default_factory=dict)
    #: VM identifier → (VM name, new recovery host identifier, its name)
    recovery: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    enter: bool = False
    exit: bool = False
    power_on_vra: bool = False
    vra_id: str | None = None
    vra_name: str | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, (_, target) in sorted(self.moves.items()):
            self.changes[f"vm:{name}"] = (self.host, target)
        for _, (name, _, target) in sorted(self.recovery.items()):
            self.changes[f"recovery:{name}"] = (self.host, target)
        if self.enter:
            self.changes["maintenance_mode"] = (False, True)
        if self.exit:
            self.changes["maintenance_mode"] = (True, False)
        if self.power_on_vra:
            self.changes[f"vra:{self.vra_name}"] = ("poweredOff", "poweredOn")

    @property
    def facts(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "host": self.host,
            "state": self.state,
            "found": self.found,
            "vmotion": {name: target for name, (_, target) in sorted(self.moves.items())},
            "recovery_moves": {
                name: target for _, (name, _, target) in sorted(self.recovery.items())
            },
            "vra": self.vra_name,
        }

    def summary(self, check_mode: bool) -> str:
        if not self.found:
            return f"{self.site}: host {self.host} is not at this site."
        if not self.changes:
            where = "in maintenance mode" if self.state == "enter" else "out of maintenance mode"
            return f"{self.site}: host {self.host} is already {where}; nothing to do."
        steps = []
        if self.moves:
            steps.append(
                "vMotion " + ", ".join(f"{n} → {t}" for n, (_, t) in sorted(self.moves.items()))
            )
        if self.recovery:
            steps.append(
                "recovery VRA of "
                + ", ".join(f"{n} → {t}" for n, _, t in sorted(self.recovery.values()))
            )
        if self.enter:
            steps.append("enter maintenance mode")
        if self.exit:
            steps.append("exit maintenance mode")
        if self.power_on_vra:
            steps.append(f"power on {self.vra_name}")
        verb = "Would" if check_mode else "Did"
        return f"{self.site}: {verb} for host {self.host}: " + "; ".join(steps) + "."


class HostMaintenance:
    def __init__(
        self,
        vsphere: Any,
        zvm: Any,
        *,
        host: str,
        state: str,
        timeout: float = 900.0,
        interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not str(host or "").strip():
            raise ConfigurationError(
                "maintenance_host is required: the hypervisor, as vCenter names it."
            )
        if state not in STATES:
            raise ConfigurationError(f"maintenance_state must be enter or exit, not {state!r}.")
        if timeout <= 0:
            raise ConfigurationError(f"timeout must be a number of seconds > 0, not {timeout}.")
        self.vsphere = vsphere
        self.zvm = zvm
        self.host = host.strip()
        self.state = state
        self.timeout = timeout
        self.interval = interval
        self._sleep = sleep
        self._clock = clock

    # -- reading ----------------------------------------------------------------------------
    def _vim(self) -> Any:
        from pyVmomi import vim

        return vim

    def _hosts(self) -> list[Any]:
        vim = self._vim()
        return self.vsphere.retrieve(
            vim.HostSystem, ["name", "runtime.inMaintenanceMode", "runtime.connectionState"]
        )

    def _vms(self) -> list[Any]:
        vim = self._vim()
        return self.vsphere.retrieve(
            vim.VirtualMachine, ["name", "runtime.host", "runtime.powerState"]
        )

    def plan(self) -> MaintenancePlan:
        site = self.zvm.local_site()
        here = site_id(site)
        site_name = str(json_field(site, "SiteName") or here)
        hosts = self._hosts()
        me = next((h for h in hosts if h["name"] == self.host), None)
        if me is None:
            return MaintenancePlan(site_name, self.host, self.state, found=False)
        vras = self.zvm.vras()
        by_host = {str(json_field(v, "HostDisplayName")): v for v in vras}
        vra = by_host.get(self.host)
        vms = self._vms()
        vra_vm = None
        if vra is not None:
            vra_vm = next((v for v in vms if v["name"] == json_field(vra, "VraName")), None)
        in_maintenance = bool(me["runtime.inMaintenanceMode"])
        vra_id = str(json_field(vra, "VraIdentifier")) if vra is not None else None
        vra_name = str(json_field(vra, "VraName")) if vra is not None else None
        if self.state == "exit":
            power_off = vra_vm is not None and str(vra_vm["runtime.powerState"]) != "poweredOn"
            return MaintenancePlan(
                site_name,
                self.host,
                self.state,
                found=True,
                exit=in_maintenance,
                power_on_vra=power_off,
                vra_id=vra_id,
                vra_name=vra_name,
            )
        if in_maintenance:
            return MaintenancePlan(
                site_name, self.host, self.state, True, vra_id=vra_id, vra_name=vra_name
            )
        # Hosts that can take the protected VMs: another host with a running VRA.
        names = {h.moid: h["name"] for h in hosts}
        usable = [
            h
            for h in hosts
            if h["name"] != self.host
            and not h["runtime.inMaintenanceMode"]
            and str(h["runtime.connectionState"]) == "connected"
            and _running(by_host.get(h["name"]))
        ]
        zvm_vms = self.zvm.vms()
        protected_here = {
            str(json_field(v, "VmName"))
            for v in zvm_vms
            if str(json_field(v, "ProtectedSite", "identifier")) == here
        }
        # vSphere's own rule: a host enters maintenance mode once no VM runs on it; the other
        # powered-on VMs go to any host that is up (DRS would do it; without DRS the task waits).
        others = [
            h
            for h in hosts
            if h["name"] != self.host
            and not h["runtime.inMaintenanceMode"]
            and str(h["runtime.connectionState"]) == "connected"
        ]
        moves: dict[str, tuple[Any, str]] = {}
        load = {h["name"]: 0 for h in usable}
        spread = {h["name"]: 0 for h in others}
        for vm in vms:
            host_ref = vm["runtime.host"]
            if host_ref is None or names.get(host_ref._moId) != self.host:
                continue
            if vm["name"] == vra_name:
                continue
            if vm["name"] not in protected_here:
                if str(vm["runtime.powerState"]) != "poweredOn":
                    continue
                if not others:
                    raise Refused(
                        f"{site_name}: VM {vm['name']} runs on host {self.host} and no other host "
                        "is up to take it. Nothing was changed."
                    )
                target = min(spread, key=lambda n: (spread[n], n))
                spread[target] += 1
                moves[vm["name"]] = (vm.ref, target)
                continue
            if not usable:
                raise Refused(
                    f"{site_name}: host {self.host} runs protected VM {vm['name']} and no other "
                    "host has a running VRA to vMotion it to. Nothing was changed.",
                    hint="Install a VRA on another host of the cluster first (vmrepl deploy).",
                )
            target = min(load, key=lambda n: (load[n], n))
            load[target] += 1
            moves[vm["name"]] = (vm.ref, target)
        recovery = self._recovery_moves(site_name, here, vra, zvm_vms)
        return MaintenancePlan(
            site_name,
            self.host,
            self.state,
            True,
            moves=moves,
            recovery=recovery,
            enter=True,
            vra_id=vra_id,
            vra_name=vra_name,
        )

    def _recovery_moves(
        self,
        site_name: str,
        here: str,
        vra: Mapping[str, Any] | None,
        zvm_vms: Sequence[Mapping[str, Any]],
    ) -> dict[str, tuple[str, str, str]]:
        """The VMs that recover to this host's VRA, each with its new recovery host (the
        ZVM's potentials, spread over them), validated by the ZVM."""
        if vra is None:
            return {}
        vra_id = str(json_field(vra, "VraIdentifier"))
        host_id = str(json_field(vra, "HostIdentifier"))
        recovering = [
            v
            for v in zvm_vms
            if str(json_field(v, "RecoverySite", "identifier")) == here
            and str(json_field(v, "RecoveryHostIdentifier") or "") == host_id
        ]
        moves: dict[str, tuple[str, str, str]] = {}
        load: dict[str, int] = {}
        for vm in recovering:
            vm_id = str(json_field(vm, "VmIdentifier"))
            name = str(json_field(vm, "VmName") or vm_id)
            potentials = [
                p
                for p in self.zvm.recovery_vra_potentials(vra_id, vm_id)
                if str(json_field(p, "HostIdentifier")) != host_id
            ]
            if not potentials:
                raise Refused(
                    f"{site_name}: VM {name} recovers to the VRA on host {self.host} and the ZVM "
                    "offers no other host for it (change recovery VRA potentials). Nothing was "
                    "changed.",
                    hint="Install a VRA on another host of the recovery cluster first.",
                )
            for p in potentials:
                load.setdefault(str(json_field(p, "HostIdentifier")), 0)
            chosen = min(
                potentials, key=lambda p: (load[str(json_field(p, "HostIdentifier"))], str(p))
            )
            target_id = str(json_field(chosen, "HostIdentifier"))
            load[target_id] += 1
            moves[vm_id] = (name, target_id, str(json_field(chosen, "HostName") or target_id))
        if moves:
            results = self.zvm.recovery_vra_validate(vra_id, {k: v[1] for k, v in moves.items()})
            bad = [r for r in results if json_field(r, "Status") not in (0, None)]
            if bad:
                reasons = "; ".join(
                    f"{moves.get(str(json_field(r, 'VmIdentifier')), ('?',))[0]}: "
                    f"{json_field(r, 'Reason') or 'refused'}"
                    for r in bad
                )
                raise Refused(
                    f"{site_name}: the ZVM refused the change of recovery VRA for host "
                    f"{self.host}: {reasons}. Nothing was changed.",
                    hint="Fix what the ZVM names (changerecoveryvra validate), then re-run.",
                )
        return moves

    # -- changing ---------------------------------------------------------------------------
    def _host_ref(self) -> Any:
        return next(h.ref for h in self._hosts() if h["name"] == self.host)

    def apply(self, plan: MaintenancePlan) -> dict[str, Any]:
        done: list[str] = []

        def failed(message: str, exc: Exception) -> OperationFailed:
            return OperationFailed(
                f"{plan.site}: host {self.host}: {message}: {exc}. Done before: "
                f"{', '.join(done) or 'nothing'}.",
                hint="Fix the cause and re-run: what is done is not done again.",
                details={"done": list(done), "changed": bool(done)},
            )

        if plan.moves:
            vim = self._vim()
            targets = {h["name"]: h.ref for h in self._hosts()}
            tasks = [
                ref.RelocateVM_Task(spec=vim.vm.RelocateSpec(host=targets[target]))
                for ref, target in plan.moves.values()
            ]
            try:
                self.vsphere.wait_for_tasks(tasks, timeout=self.timeout)
            except Exception as exc:
                raise failed("the vMotion of its protected VMs failed", exc) from exc
            done.append(f"vMotioned {', '.join(sorted(plan.moves))}")
        if plan.recovery and plan.vra_id:
            try:
                task = self.zvm.recovery_vra_execute(
                    plan.vra_id, {k: v[1] for k, v in plan.recovery.items()}
                )
                self.zvm.wait_for_task(task, self.timeout, self.interval)
            except Exception as exc:
                raise failed("the change of recovery VRA failed", exc) from exc
            done.append(f"moved the recovery of {len(plan.recovery)} VM(s)")
        if plan.enter:
            try:
                self.vsphere.wait_for_tasks(
                    [self._host_ref().EnterMaintenanceMode_Task(timeout=0)], timeout=self.timeout
                )
            except Exception as exc:
                raise failed("entering maintenance mode failed", exc) from exc
            done.append("entered maintenance mode")
            if plan.vra_id:
                self._wait_vra(plan, lambda s: s == VraStatus.HostInMaintenanceMode, done)
        if plan.exit:
            try:
                self.vsphere.wait_for_tasks(
                    [self._host_ref().ExitMaintenanceMode_Task(timeout=0)], timeout=self.timeout
                )
            except Exception as exc:
                raise failed("exiting maintenance mode failed", exc) from exc
            done.append("exited maintenance mode")
        if plan.exit or plan.power_on_vra:
            vra_vm = next(
                (v for v in self._vms() if plan.vra_name and v["name"] == plan.vra_name), None
            )
            if vra_vm is not None:
                try:
                    self.vsphere.wait_for_tasks(
                        self.vsphere.power_on([vra_vm.ref]), timeout=self.timeout
                    )
                except Exception as exc:
                    raise failed(f"powering on {plan.vra_name} failed", exc) from exc
                done.append(f"powered on {plan.vra_name}")
        return {"done": done}

    def _poll(self, check: Callable[[], bool | None]) -> None:
        """``check`` until it answers, within this run's timeout (TimeoutError past it)."""
        poll_until(
            check,
            timeout=self.timeout,
            interval=self.interval,
            timeout_error=None,
            sleep=self._sleep,
            clock=self._clock,
        )

    def _wait_vra(self, plan: MaintenancePlan, ok: Callable[[Any], bool], done: list[str]) -> None:
        last: Any = None

        def check() -> bool | None:
            nonlocal last
            last = json_field(self.zvm.vra(str(plan.vra_id)), "Status")
            return True if ok(last) else None

        try:
            self._poll(check)
        except TimeoutError as exc:
            raise OperationFailed(
                f"{plan.site}: the VRA on host {self.host} is "
                f"{code_name(VraStatus, last)} after {self.timeout:.0f} s. Done: "
                f"{', '.join(done)}.",
                details={"done": list(done), "changed": True},
            ) from exc

    def verify(self, plan: MaintenancePlan) -> dict[str, Any]:
        """After an exit: the VRA Installed and every VPG back to MeetingSLA, out of its syncs
        (waited for up to the timeout); after an enter: the VPGs still meet their SLA."""
        if not plan.found:
            return {}
        if self.state == "exit" and plan.vra_id:
            self._wait_vra(plan, lambda s: s == VraStatus.Installed, ["exit"])
        names = self.zvm.vpg_substatuses()
        problems: list[str] = []

        def check() -> bool | None:
            nonlocal problems
            problems = sla_problems(self.zvm.vpgs(), names)
            return True if not problems else None

        try:
            self._poll(check)
        except TimeoutError as exc:
            raise OperationFailed(
                f"{plan.site}: host {self.host} is "
                f"{'in' if self.state == 'enter' else 'out of'} maintenance mode, but VPG(s) "
                f"are not meeting their SLA after {self.timeout:.0f} s: {', '.join(problems)}.",
                hint="Check the VRAs and the VPGs' alerts (vmrepl health).",
                details={"vpgs_not_ready": problems},
            ) from exc
        return {"vpgs_in_sla": True}


def _running(vra: Mapping[str, Any] | None) -> bool:
    return vra is not None and json_field(vra, "Status") == VraStatus.Installed
